package ai.imagify.flink;

import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.types.RowKind;
import org.apache.flink.util.Collector;

/**
 * An updating result (a window re-fired by late events) as an append-only stream of versions: every
 * insert and every update-after becomes an INSERT of the row's new figures; update-before and delete
 * rows are dropped. Readers keep the newest version of each key: the live store by upsert, Athena by
 * {@code emitted_at}. Lets one result feed both an upsert sink and the append-only file sink of the
 * lake. Only used on window results (a few rows a minute), so the copy costs nothing.
 */
public final class UpsertsAsInserts extends ProcessFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    @Override
    public void processElement(Row value, Context ctx, Collector<Row> out) {
        RowKind kind = value.getKind();
        if (kind == RowKind.INSERT || kind == RowKind.UPDATE_AFTER) {
            Row copy = Row.copy(value);
            copy.setKind(RowKind.INSERT);
            out.collect(copy);
        }
    }
}
