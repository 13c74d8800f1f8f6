package ai.imagify.realtime;

import ai.imagify.flink.LandingStreams;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;

/**
 * The real-time job's core as a DataStream pipeline: source table → {@link EventParser} (contract,
 * arrivals) → dedup (first event_id, first payment_id of a payment success, within the state TTL) →
 * {@link MinuteWindows} (watermark, classification, minutes, models, trending terms). The sinks stay
 * SQL tables ({@code realtime/job/sinks.py}), fed from the views this registers.
 *
 * <p>Called from Python ({@code realtime/job/transform.py}) through the gateway.
 */
public final class RealtimeStreams {
    public static final String MINUTE_VIEW = "rt_minute_versions";
    public static final String MODEL_MINUTE_VIEW = "rt_model_minute_versions";
    public static final String TERMS_VIEW = "rt_terms_top";
    public static final String LATE_VIEW = "rt_late_rows";
    public static final String ARRIVALS_VIEW = "rt_arrival_rows";

    public RealtimeStreams() {}

    /**
     * Registers the five views over {@code sourceTable} ({@code line BYTES, segment STRING}).
     *
     * @param minWatermarkMs watermark floor when the job starts without its state (epoch ms; Long.MIN_VALUE: none)
     */
    public void register(StreamTableEnvironment tEnv, String sourceTable, long boundMs, long maxAheadMs,
                         long latenessMs, int topTerms, int trendMinutes, long minWatermarkMs, long lateFireMs) {
        long dedupTtlMs = LandingStreams.dedupTtlMs(tEnv);
        DataStream<RowData> raw = LandingStreams.rawRecords(tEnv, sourceTable);

        SingleOutputStreamOperator<RowData> parsed = raw
            .transform("validate", InternalTypeInfo.of(EventParser.EVENT), new EventParser(maxAheadMs))
            .uid("imagify-realtime-validate");
        DataStream<RowData> events = parsed
            .keyBy(new LandingStreams.EventIdKey())
            .process(new LandingStreams.FirstPerKey(dedupTtlMs), InternalTypeInfo.of(EventParser.EVENT))
            .name("dedup by event_id / payment_id")
            .uid("imagify-realtime-dedup");
        SingleOutputStreamOperator<RowData> minutes = events
            .transform("minute windows", InternalTypeInfo.of(MinuteWindows.MINUTE_ROW),
                new MinuteWindows(boundMs, latenessMs, topTerms, trendMinutes, minWatermarkMs, lateFireMs))
            .uid("imagify-realtime-minutes")
            .setParallelism(1)
            .setMaxParallelism(1);

        tEnv.createTemporaryView(MINUTE_VIEW, minutes);
        tEnv.createTemporaryView(MODEL_MINUTE_VIEW, minutes.getSideOutput(MinuteWindows.MODEL_MINUTE));
        tEnv.createTemporaryView(TERMS_VIEW, minutes.getSideOutput(MinuteWindows.TERMS));
        tEnv.createTemporaryView(LATE_VIEW, minutes.getSideOutput(MinuteWindows.LATE));
        tEnv.createTemporaryView(ARRIVALS_VIEW, parsed.getSideOutput(EventParser.ARRIVALS));
    }
}
