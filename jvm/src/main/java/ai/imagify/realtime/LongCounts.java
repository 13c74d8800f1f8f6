package ai.imagify.realtime;

import java.io.IOException;
import java.util.Arrays;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A multiset of longs (value → count): the latencies of a window, for exact percentiles. Latencies are
 * whole milliseconds and repeat, so a minute of 300,000 completions holds a few thousand entries.
 */
public final class LongCounts {
    private long[] keys = new long[16];
    private long[] counts = new long[16];
    private boolean[] used = new boolean[16];
    private int distinct;
    private long total;

    public long total() {
        return total;
    }

    public void add(long v, long n) {
        int mask = keys.length - 1;
        int i = LongSet.mix(v) & mask;
        while (used[i]) {
            if (keys[i] == v) {
                counts[i] += n;
                total += n;
                return;
            }
            i = (i + 1) & mask;
        }
        used[i] = true;
        keys[i] = v;
        counts[i] = n;
        total += n;
        if (++distinct * 2 > keys.length) {
            grow();
        }
    }

    private void grow() {
        long[] k = keys;
        long[] c = counts;
        boolean[] u = used;
        keys = new long[k.length * 2];
        counts = new long[k.length * 2];
        used = new boolean[k.length * 2];
        distinct = 0;
        total = 0;
        for (int i = 0; i < k.length; i++) {
            if (u[i]) {
                add(k[i], c[i]);
            }
        }
    }

    /**
     * The percentile {@code q} with linear interpolation between the closest ranks (position
     * {@code (n - 1) * q}, as Flink's PERCENTILE and the marts' reference), or null when empty.
     */
    public Double percentile(double q) {
        if (total == 0) {
            return null;
        }
        long[][] sorted = sortedEntries();
        double pos = (total - 1) * q;
        long lo = (long) pos;
        long hi = Math.min(lo + 1, total - 1);
        long vLo = valueAt(sorted, lo);
        long vHi = valueAt(sorted, hi);
        return vLo + (vHi - vLo) * (pos - lo);
    }

    private long[][] sortedEntries() {
        long[][] out = new long[distinct][];
        int j = 0;
        for (int i = 0; i < keys.length; i++) {
            if (used[i]) {
                out[j++] = new long[] {keys[i], counts[i]};
            }
        }
        Arrays.sort(out, (a, b) -> Long.compare(a[0], b[0]));
        return out;
    }

    private static long valueAt(long[][] sorted, long rank) {
        long seen = 0;
        for (long[] e : sorted) {
            seen += e[1];
            if (rank < seen) {
                return e[0];
            }
        }
        throw new IllegalStateException("rank " + rank + " beyond " + seen);
    }

    public void write(DataOutputView out) throws IOException {
        out.writeInt(distinct);
        for (int i = 0; i < keys.length; i++) {
            if (used[i]) {
                out.writeLong(keys[i]);
                out.writeLong(counts[i]);
            }
        }
    }

    public static LongCounts read(DataInputView in) throws IOException {
        LongCounts c = new LongCounts();
        int n = in.readInt();
        for (int k = 0; k < n; k++) {
            long key = in.readLong();
            c.add(key, in.readLong());
        }
        return c;
    }
}
