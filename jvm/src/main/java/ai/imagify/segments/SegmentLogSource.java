package ai.imagify.segments;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.assigners.FileSplitAssigner;
import org.apache.flink.connector.file.src.enumerate.NonSplittingRecursiveEnumerator;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.ArrayResultIterator;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.Path;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;

/**
 * The embedded stream ({@code ingestion/segment_log.py}) as a Flink {@link FileSource}: every published
 * segment under a directory, one row ({@code line BYTES, segment STRING NOT NULL}) per line, read in
 * publication order.
 *
 * <p>Why not the {@code filesystem} table connector: its split assigner (Flink's locality-aware one)
 * hands pending files to the reader in no fixed order, so after any backlog (a slow checkpoint, a
 * pause, a restore) a segment published seconds earlier can be read after newer ones. For the
 * real-time job that turns on-time events into late ones: in one benchmark run, segments were read up
 * to 26.6 s out of order after a 3.1-s checkpoint and 80,457 events missed their minute. This source
 * differs from it in two respects: {@link PublicationOrder} hands out the pending segment with the
 * smallest name (names start with the 13-digit publication epoch-ms, then writer and sequence), and
 * {@link SegmentReader} keeps a record's bytes as published where the {@code raw} format's line reader
 * drops a trailing {@code \r}; its checkpointed position means what that reader's did. {@code segment}
 * is the file's path, as its {@code file.path} metadata column was.
 */
public final class SegmentLogSource {
    /** {@code <publish_ms>-<writer>-<seq>-<count>.jsonl}: the published name of a segment. */
    private static final Pattern PUBLISHED = Pattern.compile("(\\d{13})-.+");

    private SegmentLogSource() {}

    /** The type of the rows: the raw line and the path of its segment. */
    public static final RowType ROW_TYPE = RowType.of(
        new LogicalType[] {new VarBinaryType(VarBinaryType.MAX_LENGTH), new VarCharType(false, VarCharType.MAX_LENGTH)},
        new String[] {"line", "segment"});

    /**
     * The continuous source over {@code directory}: looks for new segments every {@code monitorInterval};
     * with {@code sinceMs} > 0 only segments published at or after it (epoch ms) are listed.
     */
    public static FileSource<RowData> create(String directory, Duration monitorInterval, long sinceMs) {
        return FileSource.forBulkFileFormat(new LinesWithSegment(), new Path(directory))
            .monitorContinuously(monitorInterval)
            .setFileEnumerator(() -> new NonSplittingRecursiveEnumerator(new PublishedSince(sinceMs)))
            .setSplitAssigner(PublicationOrder::new)
            .build();
    }

    /**
     * Which paths the enumerator lists: no hidden ones ({@code .name}, {@code _name}, as Flink's default
     * filter), and of the published segments only those published at or after {@code sinceMs}. Other
     * names (the directories walked) pass.
     */
    public static final class PublishedSince implements Predicate<Path>, java.io.Serializable {
        private static final long serialVersionUID = 1L;
        private final long sinceMs;

        public PublishedSince(long sinceMs) {
            this.sinceMs = sinceMs;
        }

        @Override
        public boolean test(Path path) {
            String name = path.getName();
            if (name.startsWith(".") || name.startsWith("_")) {
                return false;
            }
            Matcher m = PUBLISHED.matcher(name);
            return sinceMs <= 0 || !m.matches() || Long.parseLong(m.group(1)) >= sinceMs;
        }
    }

    /** Hands out pending splits by file name, then offset: the segments in publication order. */
    public static final class PublicationOrder implements FileSplitAssigner {
        static final Comparator<FileSourceSplit> ORDER = Comparator
            .comparing((FileSourceSplit s) -> s.path().getName())
            .thenComparing(s -> s.path().getPath())
            .thenComparingLong(FileSourceSplit::offset);

        private final PriorityQueue<FileSourceSplit> pending = new PriorityQueue<>(ORDER);

        public PublicationOrder(Collection<FileSourceSplit> splits) {
            pending.addAll(splits);
        }

        @Override
        public Optional<FileSourceSplit> getNext(String hostname) {
            return Optional.ofNullable(pending.poll());
        }

        @Override
        public void addSplits(Collection<FileSourceSplit> splits) {
            pending.addAll(splits);
        }

        @Override
        public Collection<FileSourceSplit> remainingSplits() {
            List<FileSourceSplit> out = new ArrayList<>(pending);
            out.sort(ORDER);
            return out;
        }
    }

    /** The lines of a segment, each with the segment's path. */
    static final class LinesWithSegment implements BulkFormat<RowData, FileSourceSplit> {
        private static final long serialVersionUID = 1L;

        @Override
        public BulkFormat.Reader<RowData> createReader(Configuration config, FileSourceSplit split) throws IOException {
            return new SegmentReader(split, 0);
        }

        @Override
        public BulkFormat.Reader<RowData> restoreReader(Configuration config, FileSourceSplit split) throws IOException {
            long skip = split.getReaderPosition().map(CheckpointedPosition::getRecordsAfterOffset).orElse(0L);
            return new SegmentReader(split, skip);
        }

        @Override
        public boolean isSplittable() {
            return false;
        }

        @Override
        public TypeInformation<RowData> getProducedType() {
            return InternalTypeInfo.of(ROW_TYPE);
        }
    }

    /**
     * A segment's records: the bytes between two {@code \n}, nothing else removed. Not Flink's
     * {@code raw} line reader ({@code DeserializationSchemaAdapter}), which drops a {@code \r} before
     * the {@code \n}: a record of the stream may end with that byte (the producer forbids only
     * {@code \n}), and the lake keeps every record's bytes as published (its {@code record_key} is their
     * hash, a rejected record's payload their text), as {@code SegmentLog.read} and the Kinesis source
     * do. The position checkpointed is the one that reader used (no offset, records read), so
     * checkpoints taken by either resume with the other.
     */
    static final class SegmentReader implements BulkFormat.Reader<RowData> {
        private static final int BATCH = 100;
        private final FSDataInputStream in;
        private final StringData segment;
        private final byte[] buf = new byte[1 << 16];
        private int pos;
        private int lim;
        private boolean eof;
        private long read;

        SegmentReader(FileSourceSplit split, long skip) throws IOException {
            this.segment = StringData.fromString(split.path().getPath());
            this.in = split.path().getFileSystem().open(split.path());
            if (split.offset() > 0) {
                in.seek(split.offset());
            }
            for (; read < skip; read++) {
                if (nextLine() == null) {
                    break;
                }
            }
        }

        @Override
        public BulkFormat.RecordIterator<RowData> readBatch() throws IOException {
            RowData[] rows = new RowData[BATCH];
            int n = 0;
            byte[] line;
            while (n < BATCH && (line = nextLine()) != null) {
                rows[n++] = GenericRowData.of(line, segment);
            }
            if (n == 0) {
                return null;
            }
            ArrayResultIterator<RowData> batch = new ArrayResultIterator<>();
            batch.set(rows, n, CheckpointedPosition.NO_OFFSET, read);
            read += n;
            return batch;
        }

        /** The next record (its bytes up to the next {@code \n}, or the end of the file), null at the end. */
        byte[] nextLine() throws IOException {
            ByteArrayOutputStream spanning = null; // only for a record that spans reads of the buffer
            while (true) {
                if (pos == lim) {
                    int got = eof ? -1 : in.read(buf, 0, buf.length);
                    if (got < 0) {
                        eof = true;
                        return spanning == null ? null : spanning.toByteArray();
                    }
                    pos = 0;
                    lim = got;
                    continue;
                }
                int start = pos;
                int i = start;
                while (i < lim && buf[i] != '\n') {
                    i++;
                }
                if (i < lim) {
                    pos = i + 1;
                    if (spanning == null) {
                        return Arrays.copyOfRange(buf, start, i);
                    }
                    spanning.write(buf, start, i - start);
                    return spanning.toByteArray();
                }
                if (spanning == null) {
                    spanning = new ByteArrayOutputStream(2 * (lim - start));
                }
                spanning.write(buf, start, lim - start);
                pos = lim;
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
