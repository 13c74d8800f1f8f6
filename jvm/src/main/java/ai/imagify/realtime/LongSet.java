package ai.imagify.realtime;

import java.io.IOException;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A set of longs (open addressing, linear probing; 0 is kept apart). The distinct-user counts of the
 * real-time windows hold user-id hashes here: no boxing, 8 bytes per member, and a checkpoint writes it
 * as a plain array. (Written here because the job's classpath has no primitive collections library.)
 */
public final class LongSet {
    private long[] slots = new long[16];
    private int size;
    private boolean hasZero;

    public int size() {
        return size + (hasZero ? 1 : 0);
    }

    /** Adds {@code v}; true if it was not there. */
    public boolean add(long v) {
        if (v == 0) {
            boolean added = !hasZero;
            hasZero = true;
            return added;
        }
        int mask = slots.length - 1;
        int i = mix(v) & mask;
        while (true) {
            long s = slots[i];
            if (s == 0) {
                slots[i] = v;
                if (++size * 2 > slots.length) {
                    grow();
                }
                return true;
            }
            if (s == v) {
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    public void addAll(LongSet other) {
        if (other.hasZero) {
            add(0);
        }
        for (long s : other.slots) {
            if (s != 0) {
                add(s);
            }
        }
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        size = 0;
        for (long s : old) {
            if (s != 0) {
                add(s);
            }
        }
    }

    static int mix(long v) {
        long h = v * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    public void write(DataOutputView out) throws IOException {
        out.writeInt(size());
        if (hasZero) {
            out.writeLong(0);
        }
        for (long s : slots) {
            if (s != 0) {
                out.writeLong(s);
            }
        }
    }

    public static LongSet read(DataInputView in) throws IOException {
        LongSet set = new LongSet();
        int n = in.readInt();
        for (int k = 0; k < n; k++) {
            set.add(in.readLong());
        }
        return set;
    }

    /**
     * A 64-bit hash of a string (FNV-1a over its UTF-16 units, then a MurmurHash3 finaliser). Distinct
     * user ids collide with probability about n² / 2^65 (10^-11 for a million users in one window): the
     * distinct counts are exact in practice. User ids are assigned by the service, not chosen by users.
     */
    public static long hash(CharSequence s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb93fe53e5cdbL;
        h ^= h >>> 33;
        return h;
    }
}
