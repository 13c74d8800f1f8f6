package ai.imagify.flink;

import ai.imagify.contract.Result;
import ai.imagify.contract.Validator;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * The landing job's validation in the JVM ({@code validate_jvm(line)} in flink_jobs/transform.py): one
 * raw record (BYTES) → one ROW, the contract's verdict, with the columns of
 * flink_jobs.transform.CHECK_FIELDS. The contract itself is {@link Validator}; this is only the Flink
 * adapter. occurred_at is TIMESTAMP(3): the event time truncated (floored) to the millisecond, as the
 * Python shapes write it.
 *
 * <p>A scalar function declared non-deterministic (it reads the clock, for the 24 h future rule): the
 * planner then never merges the projection that calls it into the projections that read its fields,
 * so the call stays one operator that both sinks (events, quarantine) reuse, once per record. A
 * table function in a LATERAL join gets each sink's filter pushed into its own copy of the join, and
 * ran twice per record.
 */
public final class ValidateRecord extends ScalarFunction {
    private static final long serialVersionUID = 1L;
    public static final String ROW_TYPE = "ROW<ok BOOLEAN, event_id STRING, event_type STRING, schema_version INT, "
        + "occurred_at TIMESTAMP(3), user_id STRING, session_id STRING, source STRING, properties STRING, "
        + "reason STRING, detail STRING, payload STRING, record_key STRING>";

    private transient Validator validator;

    @Override
    public void open(FunctionContext context) {
        validator = new Validator();
    }

    public @DataTypeHint(value = ROW_TYPE, bridgedTo = RowData.class) RowData eval(byte[] line) {
        if (validator == null) {
            validator = new Validator();
        }
        byte[] raw = line == null ? new byte[0] : line;
        Result r = validator.check(raw, System.currentTimeMillis() * 1000L);
        GenericRowData row = new GenericRowData(13);
        row.setField(0, r.ok);
        if (r.ok) {
            row.setField(1, StringData.fromString(r.eventId));
            row.setField(2, StringData.fromString(r.eventType));
            row.setField(3, r.schemaVersion);
            row.setField(4, TimestampData.fromEpochMillis(Math.floorDiv(r.occurredAtMicros, 1000L)));
            row.setField(5, StringData.fromString(r.userId));
            row.setField(6, r.sessionId == null ? null : StringData.fromString(r.sessionId));
            row.setField(7, r.source == null ? null : StringData.fromString(r.source));
            row.setField(8, StringData.fromString(r.properties));
        } else {
            row.setField(3, 0); // as the Python shapes: rejected rows carry schema_version 0
            row.setField(9, StringData.fromString(r.reason));
            row.setField(10, StringData.fromString(r.detail));
            row.setField(11, StringData.fromString(r.payload));
            row.setField(12, StringData.fromString(r.recordKey));
        }
        return row;
    }

    /** Reads the clock: never constant-folded, and its projection is never merged (see above). */
    @Override
    public boolean isDeterministic() {
        return false;
    }
}
