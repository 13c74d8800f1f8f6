package ai.imagify.flink;

import ai.imagify.contract.Result;
import ai.imagify.contract.Validator;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.BigIntType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.OutputTag;

/**
 * One raw record ({@code line BYTES, segment STRING}) in, its verdict out: a valid event on the main
 * output, a rejected record on {@link #REJECTED}, and on {@link #AUDIT} the number of records read
 * per segment and second. The contract is {@link Validator} (the Java twin of
 * {@code ingestion/contract.py}, kept equal by the parity test); the rows have the columns of
 * {@code foundation/lake.py}'s events and quarantine tables plus their partition, the UTC date
 * ({@code dt}) and hour ({@code hr}) of landing.
 *
 * <p>Audit counts live in memory for at most a second: they are emitted when the second ends (a
 * processing-time timer), and always before a checkpoint barrier, so every count belongs to the same
 * checkpoint as the records it counts (a restored job re-reads and re-counts exactly what the failed
 * run did not commit). One (segment, second) may then be split over two rows: readers sum them.
 */
public final class LandingRouter extends AbstractStreamOperator<RowData>
        implements OneInputStreamOperator<RowData, RowData> {
    private static final long serialVersionUID = 1L;

    private static final LogicalType STRING = new VarCharType(VarCharType.MAX_LENGTH);
    private static final LogicalType TS = new TimestampType(3);

    /** lake events columns + dt, hr. */
    public static final RowType EVENTS = RowType.of(
        new LogicalType[] {STRING, STRING, new IntType(), TS, STRING, STRING, STRING, STRING, TS, STRING, STRING, STRING},
        new String[] {"event_id", "event_type", "schema_version", "occurred_at", "user_id", "session_id", "source",
            "properties", "landed_at", "segment", "dt", "hr"});
    /** lake quarantine columns + dt, hr. */
    public static final RowType QUARANTINE = RowType.of(
        new LogicalType[] {STRING, STRING, STRING, STRING, TS, STRING, STRING, STRING},
        new String[] {"payload", "reason", "detail", "segment", "landed_at", "record_key", "dt", "hr"});
    /** lake audit columns. */
    public static final RowType AUDIT_ROW = RowType.of(
        new LogicalType[] {STRING, new BigIntType(), TS}, new String[] {"segment", "records", "window_end"});

    public static final OutputTag<RowData> REJECTED = new OutputTag<>("rejected", InternalTypeInfo.of(QUARANTINE));
    public static final OutputTag<RowData> AUDIT = new OutputTag<>("audit", InternalTypeInfo.of(AUDIT_ROW));

    private static final DateTimeFormatter DT = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter HR = DateTimeFormatter.ofPattern("HH").withZone(ZoneOffset.UTC);
    private static final byte[] EMPTY = new byte[0];

    private transient Validator validator;
    private transient StreamRecord<RowData> rejectedRecord;
    // the partition of the current landing hour, computed once per hour
    private transient long hour;
    private transient StringData dt;
    private transient StringData hr;
    // the segment of the previous record (records come a file at a time): compared by bytes, kept as a copy
    private transient StringData segment;
    // audit: records read in the current second, per segment
    private transient long second;
    private transient Map<StringData, long[]> counts;
    private transient StringData countedSegment; // the segment whose counter is `counted`
    private transient long[] counted;
    private transient boolean timerSet;

    @Override
    public void open() throws Exception {
        super.open();
        validator = new Validator();
        rejectedRecord = new StreamRecord<>(null);
        hour = Long.MIN_VALUE;
        second = Long.MIN_VALUE;
        counts = new HashMap<>();
    }

    @Override
    public void processElement(StreamRecord<RowData> element) throws Exception {
        RowData in = element.getValue();
        byte[] line = in.isNullAt(0) ? EMPTY : in.getBinary(0);
        StringData seg = segmentOf(in);
        long now = getProcessingTimeService().getCurrentProcessingTime();
        count(seg, now);
        partition(now);
        TimestampData landed = TimestampData.fromEpochMillis(now);
        Result r = validator.check(line, now * 1000L);
        if (r.ok) {
            GenericRowData row = new GenericRowData(12);
            row.setField(0, str(r.eventId));
            row.setField(1, str(r.eventType));
            row.setField(2, r.schemaVersion);
            row.setField(3, TimestampData.fromEpochMillis(Math.floorDiv(r.occurredAtMicros, 1000L)));
            row.setField(4, str(r.userId));
            row.setField(5, str(r.sessionId));
            row.setField(6, str(r.source));
            row.setField(7, str(r.properties));
            row.setField(8, landed);
            row.setField(9, seg);
            row.setField(10, dt);
            row.setField(11, hr);
            output.collect(element.replace(row));
        } else {
            GenericRowData row = new GenericRowData(8);
            row.setField(0, str(r.payload));
            row.setField(1, str(r.reason));
            row.setField(2, str(r.detail));
            row.setField(3, seg);
            row.setField(4, landed);
            row.setField(5, str(r.recordKey));
            row.setField(6, dt);
            row.setField(7, hr);
            output.collect(REJECTED, rejectedRecord.replace(row));
        }
    }

    /**
     * A string as Flink's binary string, encoded by the JDK (an intrinsic copy for Latin-1 text; Flink's
     * own encoder goes char by char). The contract never lets a lone surrogate through, so both agree.
     */
    private static StringData str(String s) {
        return s == null ? null : StringData.fromBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    private StringData segmentOf(RowData in) {
        if (in.isNullAt(1)) {
            return null;
        }
        StringData s = in.getString(1);
        if (segment == null || !segment.equals(s)) {
            segment = StringData.fromString(s.toString()); // a copy: the input row's memory is reused
        }
        return segment;
    }

    private void partition(long nowMs) {
        long h = Math.floorDiv(nowMs, 3_600_000L);
        if (h != hour) {
            Instant at = Instant.ofEpochMilli(h * 3_600_000L);
            dt = StringData.fromString(DT.format(at));
            hr = StringData.fromString(HR.format(at));
            hour = h;
        }
    }

    private void count(StringData seg, long nowMs) {
        long s = Math.floorDiv(nowMs, 1000L);
        if (s != second) {
            flushAudit();
            second = s;
        }
        if (seg != countedSegment || countedSegment == null) { // records come a file at a time
            StringData key = seg == null ? StringData.fromString("") : seg;
            counted = counts.computeIfAbsent(key, k -> new long[1]);
            countedSegment = seg;
        }
        counted[0]++;
        if (!timerSet) { // emit the second's counts when it ends, even if no record follows
            timerSet = true;
            getProcessingTimeService().registerTimer((s + 1) * 1000L, t -> {
                timerSet = false;
                if (Math.floorDiv(t, 1000L) > second) {
                    flushAudit();
                }
            });
        }
    }

    private void flushAudit() {
        countedSegment = null;
        if (counts.isEmpty()) {
            return;
        }
        TimestampData windowEnd = TimestampData.fromEpochMillis((second + 1) * 1000L);
        StreamRecord<RowData> rec = new StreamRecord<>(null);
        for (Map.Entry<StringData, long[]> e : counts.entrySet()) {
            output.collect(AUDIT, rec.replace(GenericRowData.of(e.getKey(), e.getValue()[0], windowEnd)));
        }
        counts.clear();
    }

    /** Counts are emitted before the barrier: they commit with the records they count. */
    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flushAudit();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        flushAudit();
        super.finish();
    }
}
