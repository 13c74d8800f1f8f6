package ai.imagify.flink;

import java.time.Duration;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.api.config.ExecutionConfigOptions;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.DataType;
import org.apache.flink.util.Collector;

import static org.apache.flink.table.api.Expressions.$;

/**
 * The landing job's core as a DataStream pipeline (source → transform → sink, as the Managed Flink
 * examples write a job): the source table's records are validated by the contract in Java, routed to
 * events or quarantine, counted for the landing audit, and the valid events deduplicated by event_id.
 * The lake sinks stay SQL tables ({@code flink_jobs/sinks.py}: Parquet, partition commit with
 * _SUCCESS), fed from the three views this registers.
 *
 * <p>Why not SQL: the same work as a SQL query (a scalar function returning a ROW, its fields
 * projected, a ROW_NUMBER dedup, DATE_FORMAT partitions, a TUMBLE window for the audit) copied every
 * string of every record two or three times (the function's row into the projection, each branch of
 * the source's broadcast) and read the source twice as often as needed. Here every record is parsed
 * once, each output row is built once, and only valid events cross the network (to their dedup key).
 *
 * <p>Called from Python ({@code flink_jobs/transform.py}) through the gateway: {@link #register}.
 */
public final class LandingStreams {
    /** An instance, so Python can call {@link #register} on it (py4j reaches instances of job classes). */
    public LandingStreams() {}

    /** Valid events, the first copy of each event_id within the dedup TTL (lake events columns + dt, hr). */
    public static final String EVENTS_VIEW = "landed_events";
    /** Rejected records (lake quarantine columns + dt, hr). */
    public static final String QUARANTINE_VIEW = "quarantined_records";
    /** Records read per segment and second (lake audit columns). */
    public static final String AUDIT_VIEW = "landing_audit_rows";

    /**
     * Register {@link #EVENTS_VIEW}, {@link #QUARANTINE_VIEW} and {@link #AUDIT_VIEW} over the source
     * table {@code sourceTable} (columns {@code line BYTES, segment STRING}). An event_id is remembered
     * for the table configuration's state TTL ({@code table.exec.state.ttl}, the dedup window, as the
     * SQL dedup did; 0 = for ever).
     */
    public void register(StreamTableEnvironment tEnv, String sourceTable) {
        long dedupTtlMs = dedupTtlMs(tEnv);
        DataStream<RowData> raw = rawRecords(tEnv, sourceTable);

        SingleOutputStreamOperator<RowData> valid = raw
            .transform("validate and route", InternalTypeInfo.of(LandingRouter.EVENTS), new LandingRouter())
            .uid("imagify-landing-validate");
        DataStream<RowData> events = valid
            .keyBy(new EventIdKey())
            .process(new FirstPerKey(dedupTtlMs), InternalTypeInfo.of(LandingRouter.EVENTS))
            .name("dedup by event_id")
            .uid("imagify-landing-dedup");

        tEnv.createTemporaryView(EVENTS_VIEW, events);
        tEnv.createTemporaryView(QUARANTINE_VIEW, valid.getSideOutput(LandingRouter.REJECTED));
        tEnv.createTemporaryView(AUDIT_VIEW, valid.getSideOutput(LandingRouter.AUDIT));
    }

    /** The records of a source table ({@code line BYTES, segment STRING}) as a stream of internal rows. */
    public static DataStream<RowData> rawRecords(StreamTableEnvironment tEnv, String sourceTable) {
        Table source = tEnv.from(sourceTable).select($("line"), $("segment"));
        DataType rawType = DataTypes.ROW(
                DataTypes.FIELD("line", DataTypes.BYTES()),
                DataTypes.FIELD("segment", DataTypes.STRING()))
            .bridgedTo(RowData.class);
        return tEnv.toDataStream(source, rawType);
    }

    /** The dedup window: the table configuration's state TTL ({@code table.exec.state.ttl}; 0 = for ever). */
    public static long dedupTtlMs(StreamTableEnvironment tEnv) {
        return tEnv.getConfig().get(ExecutionConfigOptions.IDLE_STATE_RETENTION).toMillis();
    }

    /** The key of a row at field 0: the event_id of a valid event (the real-time job's dedup key). */
    public static final class EventIdKey implements KeySelector<RowData, String> {
        private static final long serialVersionUID = 1L;

        @Override
        public String getKey(RowData row) {
            return row.getString(0).toString();
        }
    }

    /**
     * Keeps the first row of each key and drops the rest while the key is remembered. The state is one
     * flag per key with a TTL from its creation: on RocksDB, expired keys are dropped by its compaction
     * filter (no clean-up work per access), so memory stays bounded by the keys of one TTL.
     */
    public static final class FirstPerKey extends KeyedProcessFunction<String, RowData, RowData> {
        private static final long serialVersionUID = 1L;
        private final long ttlMs;
        private transient ValueState<Boolean> seen;

        public FirstPerKey(long ttlMs) {
            this.ttlMs = ttlMs;
        }

        @Override
        public void open(OpenContext context) {
            ValueStateDescriptor<Boolean> desc = new ValueStateDescriptor<>("seen", Types.BOOLEAN);
            if (ttlMs > 0) {
                desc.enableTimeToLive(StateTtlConfig.newBuilder(Duration.ofMillis(ttlMs))
                    .setUpdateType(StateTtlConfig.UpdateType.OnCreateAndWrite)
                    .setStateVisibility(StateTtlConfig.StateVisibility.NeverReturnExpired)
                    .cleanupInRocksdbCompactFilter(1000)
                    .build());
            }
            seen = getRuntimeContext().getState(desc);
        }

        @Override
        public void processElement(RowData row, Context ctx, Collector<RowData> out) throws Exception {
            if (seen.value() == null) {
                seen.update(Boolean.TRUE);
                out.collect(row);
            }
        }
    }
}
