package ai.imagify.realtime;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/** What one event-time minute counts (on-time and late events), overall and per model. */
final class MinuteFigures {
    final long start;
    /** emitted once: the watermark passed its end */
    boolean closed;
    boolean dirty;
    long events;
    long payments;
    long paymentsFailed;
    long revenueVnd;
    long lateEvents;
    LongSet users = new LongSet();
    LongSet signups = new LongSet();
    LongSet payers = new LongSet();
    GenFigures generations = new GenFigures();
    /** per model (model_requested for requests; null is a model of its own, as in a GROUP BY) */
    Map<String, GenFigures> models = new HashMap<>();

    MinuteFigures(long start) {
        this.start = start;
    }

    void write(DataOutputView out) throws IOException {
        out.writeLong(start);
        out.writeBoolean(closed);
        out.writeBoolean(dirty);
        out.writeLong(events);
        out.writeLong(payments);
        out.writeLong(paymentsFailed);
        out.writeLong(revenueVnd);
        out.writeLong(lateEvents);
        users.write(out);
        signups.write(out);
        payers.write(out);
        generations.write(out);
        out.writeInt(models.size());
        for (Map.Entry<String, GenFigures> e : models.entrySet()) {
            out.writeBoolean(e.getKey() != null);
            if (e.getKey() != null) {
                out.writeUTF(e.getKey());
            }
            e.getValue().write(out);
        }
    }

    static MinuteFigures read(DataInputView in) throws IOException {
        MinuteFigures m = new MinuteFigures(in.readLong());
        m.closed = in.readBoolean();
        m.dirty = in.readBoolean();
        m.events = in.readLong();
        m.payments = in.readLong();
        m.paymentsFailed = in.readLong();
        m.revenueVnd = in.readLong();
        m.lateEvents = in.readLong();
        m.users = LongSet.read(in);
        m.signups = LongSet.read(in);
        m.payers = LongSet.read(in);
        m.generations = GenFigures.read(in);
        int n = in.readInt();
        for (int k = 0; k < n; k++) {
            String model = in.readBoolean() ? in.readUTF() : null;
            m.models.put(model, GenFigures.read(in));
        }
        return m;
    }
}
