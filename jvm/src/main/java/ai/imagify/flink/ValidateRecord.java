package ai.imagify.flink;

import ai.imagify.contract.Result;
import ai.imagify.contract.Validator;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.TableFunction;

/**
 * The landing job's validation in the JVM ({@code LATERAL TABLE(validate_jvm(line))} in
 * flink_jobs/transform.py): one raw record (BYTES) → one row, the contract's verdict, with the columns
 * of flink_jobs.transform.CHECK_FIELDS. A table function, not a scalar one returning a ROW: the
 * planner expands {@code f(x).field} into one call per field, a correlate calls it once per record.
 * The contract itself is {@link Validator}; this is only the Flink adapter. occurred_at is
 * TIMESTAMP(3): the event time truncated (floored) to the millisecond, as the Python shapes write it.
 */
@FunctionHint(output = @DataTypeHint(value = ValidateRecord.ROW_TYPE, bridgedTo = RowData.class))
public final class ValidateRecord extends TableFunction<RowData> {
    private static final long serialVersionUID = 1L;
    public static final String ROW_TYPE = "ROW<ok BOOLEAN, event_id STRING, event_type STRING, schema_version INT, "
        + "occurred_at TIMESTAMP(3), user_id STRING, session_id STRING, source STRING, properties STRING, "
        + "reason STRING, detail STRING, payload STRING, record_key STRING>";

    private transient Validator validator;

    @Override
    public void open(FunctionContext context) {
        validator = new Validator();
    }

    public void eval(byte[] line) {
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
        collect(row);
    }

    /** Reads the clock (the 24 h future rule): never constant-folded or merged away. */
    @Override
    public boolean isDeterministic() {
        return false;
    }
}
