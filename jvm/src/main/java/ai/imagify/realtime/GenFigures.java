package ai.imagify.realtime;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** The generation figures of a minute (all models, or one): counts, latencies, images, cost. */
final class GenFigures {
    long requested;
    long completed;
    long failed;
    long images;
    long costMicros;
    LongCounts latencies = new LongCounts();
    /** changed since its row was last emitted (a late event): emit a new version */
    boolean dirty;

    void add(int kind, Long nImages, Long latencyMs, Long costMicros) {
        switch (kind) {
            case EventParser.REQUESTED:
                requested++;
                break;
            case EventParser.COMPLETED:
                completed++;
                if (nImages != null) {
                    images += nImages;
                }
                if (costMicros != null) {
                    this.costMicros += costMicros;
                }
                if (latencyMs != null) {
                    latencies.add(latencyMs, 1);
                }
                break;
            case EventParser.FAILED:
                failed++;
                break;
            default:
                return;
        }
        dirty = true;
    }

    /** failed / (completed + failed), null without any. */
    Double failureRate() {
        long n = completed + failed;
        return n == 0 ? null : (double) failed / n;
    }

    void write(DataOutputView out) throws IOException {
        out.writeLong(requested);
        out.writeLong(completed);
        out.writeLong(failed);
        out.writeLong(images);
        out.writeLong(costMicros);
        out.writeBoolean(dirty);
        latencies.write(out);
    }

    static GenFigures read(DataInputView in) throws IOException {
        GenFigures g = new GenFigures();
        g.requested = in.readLong();
        g.completed = in.readLong();
        g.failed = in.readLong();
        g.images = in.readLong();
        g.costMicros = in.readLong();
        g.dirty = in.readBoolean();
        g.latencies = LongCounts.read(in);
        return g;
    }
}
