package ai.imagify.realtime;

import ai.imagify.contract.Result;
import ai.imagify.contract.Validator;
import java.math.BigDecimal;
import java.math.RoundingMode;
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
import org.apache.flink.table.types.logical.BooleanType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.TimestampType;
import org.apache.flink.table.types.logical.VarCharType;
import org.apache.flink.util.OutputTag;

/**
 * The real-time job's first step: one raw record ({@code line BYTES, segment STRING}) in, validated by
 * the contract ({@link Validator}, the Java twin of {@code ingestion/contract.py}); a valid event out
 * as the few fields the metrics use ({@link #EVENT}), and on {@link #ARRIVALS} the records read per
 * arrival second, segment and outcome ({@code valid} or the reject reason).
 *
 * <p>Arrival counts live in memory for at most a second: they are emitted when the second ends and
 * before every checkpoint barrier, so each count commits with the records it counts (a second may then
 * be split over two rows: readers add them up).
 */
public final class EventParser extends AbstractStreamOperator<RowData>
        implements OneInputStreamOperator<RowData, RowData> {
    private static final long serialVersionUID = 1L;

    static final LogicalType STRING = new VarCharType(VarCharType.MAX_LENGTH);
    static final LogicalType BIGINT = new BigIntType();
    static final LogicalType TS = new TimestampType(3);

    // event kinds (field KIND): what the windows count
    static final int OTHER = 0;
    static final int SIGNED_UP = 1;
    static final int REQUESTED = 2;
    static final int COMPLETED = 3;
    static final int FAILED = 4;
    static final int PAID = 5;
    static final int PAYMENT_FAILED = 6;

    // fields of EVENT; the dedup key first (LandingStreams.EventIdKey reads field 0)
    static final int DEDUP_KEY = 0;
    static final int KIND = 1;
    static final int EVENT_ID = 2;
    static final int EVENT_TYPE = 3;
    static final int OCCURRED_MS = 4;
    static final int USER_ID = 5;
    static final int MODEL = 6;
    static final int PROMPT = 7;
    static final int N_IMAGES = 8;
    static final int LATENCY_MS = 9;
    static final int COST_MICROS = 10;
    static final int AMOUNT_VND = 11;
    static final int ARRIVED_MS = 12;
    static final int AHEAD = 13;

    /**
     * A valid event: dedup key ({@code payment:<payment_id>} for a payment success, else the event_id),
     * kind, event_id, event_type, occurred_at (epoch ms), user_id, model (model_requested for a request),
     * prompt (requests), n_images, latency_ms, cost_usd in millionths (completions), amount_vnd (payment
     * successes), arrival time (epoch ms), and whether it is too far ahead of the clock.
     */
    public static final RowType EVENT = RowType.of(
        new LogicalType[] {STRING, new IntType(), STRING, STRING, BIGINT, STRING, STRING, STRING, BIGINT, BIGINT,
            BIGINT, BIGINT, BIGINT, new BooleanType()},
        new String[] {"dedup_key", "kind", "event_id", "event_type", "occurred_ms", "user_id", "model", "prompt",
            "n_images", "latency_ms", "cost_micros", "amount_vnd", "arrived_ms", "ahead"});
    /** Columns of {@code lake/realtime/arrivals} with its partition (dt, hr). */
    public static final RowType ARRIVAL_ROW = RowType.of(
        new LogicalType[] {TS, TS, STRING, STRING, BIGINT, STRING, STRING},
        new String[] {"window_start", "window_end", "segment", "outcome", "records", "dt", "hr"});
    public static final OutputTag<RowData> ARRIVALS = new OutputTag<>("arrivals", InternalTypeInfo.of(ARRIVAL_ROW));

    private static final DateTimeFormatter DT = DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter HR = DateTimeFormatter.ofPattern("HH").withZone(ZoneOffset.UTC);
    private static final byte[] EMPTY = new byte[0];
    private static final String VALID = "valid";

    private final long maxAheadMs;
    private transient Validator validator;
    private transient StringData segment; // of the previous record (records come a file at a time), a copy
    private transient long second;
    private transient Map<StringData, Map<String, long[]>> counts; // segment → outcome → records
    private transient boolean timerSet;

    /** @param maxAheadMs an event whose occurred_at is further ahead of the clock than this is "ahead" */
    public EventParser(long maxAheadMs) {
        this.maxAheadMs = maxAheadMs;
    }

    @Override
    public void open() throws Exception {
        super.open();
        validator = new Validator();
        second = Long.MIN_VALUE;
        counts = new HashMap<>();
    }

    @Override
    public void processElement(StreamRecord<RowData> element) throws Exception {
        RowData in = element.getValue();
        byte[] line = in.isNullAt(0) ? EMPTY : in.getBinary(0);
        StringData seg = segmentOf(in);
        long now = getProcessingTimeService().getCurrentProcessingTime();
        Result r = validator.check(line, now * 1000L);
        count(seg, r.ok ? VALID : r.reason, now);
        if (r.ok) {
            output.collect(element.replace(event(r, now)));
        }
    }

    private RowData event(Result r, long now) {
        long occurredMs = Math.floorDiv(r.occurredAtMicros, 1000L);
        int kind = kind(r.eventType);
        Map<String, Object> p = r.props;
        GenericRowData row = new GenericRowData(EVENT.getFieldCount());
        String dedup = kind == PAID ? "payment:" + text(p.get("payment_id")) : r.eventId;
        row.setField(DEDUP_KEY, str(dedup));
        row.setField(KIND, kind);
        row.setField(EVENT_ID, str(r.eventId));
        row.setField(EVENT_TYPE, str(r.eventType));
        row.setField(OCCURRED_MS, occurredMs);
        row.setField(USER_ID, str(r.userId));
        switch (kind) {
            case REQUESTED:
                row.setField(MODEL, str(text(p.get("model_requested"))));
                row.setField(PROMPT, str(text(p.get("prompt"))));
                break;
            case COMPLETED:
                row.setField(MODEL, str(text(p.get("model"))));
                row.setField(N_IMAGES, whole(p.get("n_images")));
                row.setField(LATENCY_MS, whole(p.get("latency_ms")));
                row.setField(COST_MICROS, micros(p.get("cost_usd")));
                break;
            case FAILED:
                row.setField(MODEL, str(text(p.get("model"))));
                break;
            case PAID:
                row.setField(AMOUNT_VND, whole(p.get("amount_vnd")));
                break;
            default:
                break;
        }
        row.setField(ARRIVED_MS, now);
        row.setField(AHEAD, occurredMs > now + maxAheadMs);
        return row;
    }

    static int kind(String type) {
        switch (type) {
            case "user_signed_up": return SIGNED_UP;
            case "generation_requested": return REQUESTED;
            case "generation_completed": return COMPLETED;
            case "generation_failed": return FAILED;
            case "payment_succeeded": return PAID;
            case "payment_failed": return PAYMENT_FAILED;
            default: return OTHER;
        }
    }

    /** A property as JSON_VALUE returns it: a string as is, another scalar as its JSON text, null for null. */
    private static String text(Object v) {
        if (v == null || v instanceof Map || v instanceof java.util.List) {
            return null;
        }
        return v instanceof String ? (String) v : ai.imagify.contract.PyJson.encode(v);
    }

    /** A whole-number property (the contract checked it is one); null when it does not fit a BIGINT. */
    private static Long whole(Object v) {
        return v instanceof Long ? (Long) v : null;
    }

    /**
     * cost_usd as CAST(JSON_VALUE(... RETURNING DOUBLE) AS DECIMAL(18, 6)) gives it, in millionths: the
     * double, rounded half-up to 6 decimals.
     */
    private static Long micros(Object v) {
        if (!(v instanceof Number)) {
            return null;
        }
        double d = ((Number) v).doubleValue();
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            return null;
        }
        return BigDecimal.valueOf(d).setScale(6, RoundingMode.HALF_UP).unscaledValue().longValueExact();
    }

    private static StringData str(String s) {
        return s == null ? null : StringData.fromBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    private StringData segmentOf(RowData in) {
        if (in.isNullAt(1)) {
            return StringData.fromString("");
        }
        StringData s = in.getString(1);
        if (segment == null || !segment.equals(s)) {
            segment = StringData.fromString(s.toString()); // a copy: the input row's memory is reused
        }
        return segment;
    }

    private void count(StringData seg, String outcome, long nowMs) {
        long s = Math.floorDiv(nowMs, 1000L);
        if (s != second) {
            flushArrivals();
            second = s;
        }
        counts.computeIfAbsent(seg, k -> new HashMap<>()).computeIfAbsent(outcome, k -> new long[1])[0]++;
        if (!timerSet) { // emit the second's counts when it ends, even if no record follows
            timerSet = true;
            getProcessingTimeService().registerTimer((s + 1) * 1000L, t -> {
                timerSet = false;
                if (Math.floorDiv(t, 1000L) > second) {
                    flushArrivals();
                }
            });
        }
    }

    private void flushArrivals() {
        if (counts.isEmpty()) {
            return;
        }
        Instant start = Instant.ofEpochMilli(second * 1000L);
        TimestampData windowStart = TimestampData.fromEpochMillis(second * 1000L);
        TimestampData windowEnd = TimestampData.fromEpochMillis((second + 1) * 1000L);
        StringData dt = StringData.fromString(DT.format(start));
        StringData hr = StringData.fromString(HR.format(start));
        StreamRecord<RowData> rec = new StreamRecord<>(null);
        for (Map.Entry<StringData, Map<String, long[]>> seg : counts.entrySet()) {
            for (Map.Entry<String, long[]> e : seg.getValue().entrySet()) {
                output.collect(ARRIVALS, rec.replace(GenericRowData.of(windowStart, windowEnd, seg.getKey(),
                    StringData.fromString(e.getKey()), e.getValue()[0], dt, hr)));
            }
        }
        counts.clear();
    }

    @Override
    public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
        flushArrivals();
        super.prepareSnapshotPreBarrier(checkpointId);
    }

    @Override
    public void finish() throws Exception {
        flushArrivals();
        super.finish();
    }
}
