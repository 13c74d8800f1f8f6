package ai.imagify.contract;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;

/**
 * For the parity test and the micro-benchmark: reads records framed as a 4-byte big-endian length
 * and the bytes from stdin, writes one JSON object per record to stdout (all fields of the {@link
 * Result}, occurred_at in epoch microseconds).
 *
 * <pre>
 *   java -cp build/jvm/imagify-jvm.jar:&lt;flink-dist&gt; ai.imagify.contract.ParityMain NOW_MICROS &lt; frames
 *   ... ParityMain --rules            the property rules, as JSON
 *   ... ParityMain --bench NOW_MICROS  validate the framed records 20 times, print ns per record
 * </pre>
 */
public final class ParityMain {
    private ParityMain() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 1 && args[0].equals("--rules")) {
            System.out.println(Validator.rulesAsJson());
            return;
        }
        boolean bench = args[0].equals("--bench");
        long now = Long.parseLong(args[bench ? 1 : 0]);
        DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(System.in, 1 << 20));
        java.util.ArrayList<byte[]> records = new java.util.ArrayList<>();
        while (true) {
            int len;
            try {
                len = in.readInt();
            } catch (EOFException e) {
                break;
            }
            byte[] b = new byte[len];
            in.readFully(b);
            records.add(b);
        }
        Validator v = new Validator();
        if (bench) {
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 20; round++) {
                long t0 = System.nanoTime();
                for (byte[] r : records) {
                    v.check(r, now);
                }
                best = Math.min(best, System.nanoTime() - t0);
            }
            System.out.printf("%d records, best of 20 rounds: %.0f ns per record%n", records.size(),
                (double) best / records.size());
            return;
        }
        Writer out = new OutputStreamWriter(new BufferedOutputStream(System.out, 1 << 20), StandardCharsets.UTF_8);
        StringBuilder b = new StringBuilder(512);
        for (byte[] r : records) {
            Result res = v.check(r, now);
            b.setLength(0);
            b.append("{\"ok\":").append(res.ok);
            field(b, "reason", res.reason);
            field(b, "detail", res.detail);
            field(b, "event_id", res.eventId);
            field(b, "event_type", res.eventType);
            b.append(",\"schema_version\":").append(res.schemaVersion);
            b.append(",\"occurred_at\":").append(res.ok ? Long.toString(res.occurredAtMicros) : "null");
            field(b, "user_id", res.userId);
            field(b, "session_id", res.sessionId);
            field(b, "source", res.source);
            field(b, "properties", res.properties);
            field(b, "payload", res.payload);
            field(b, "record_key", res.recordKey);
            b.append("}\n");
            out.write(b.toString());
        }
        out.flush();
    }

    /** A string field, every non-ASCII UTF-16 unit escaped (the output must survive any content). */
    private static void field(StringBuilder b, String name, String value) {
        b.append(",\"").append(name).append("\":");
        if (value == null) {
            b.append("null");
            return;
        }
        b.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20 || c > 0x7e) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        b.append('"');
    }
}
