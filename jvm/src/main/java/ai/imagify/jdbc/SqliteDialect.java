package ai.imagify.jdbc;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.connector.jdbc.core.database.dialect.AbstractDialect;
import org.apache.flink.connector.jdbc.core.database.dialect.AbstractDialectConverter;
import org.apache.flink.connector.jdbc.core.database.dialect.JdbcDialectConverter;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * SQLite for Flink's JDBC connector. An upsert is {@code INSERT ... ON CONFLICT (key) DO UPDATE SET
 * col = excluded.col} (SQLite 3.24+), so a window result written twice (a replay after a restore, a
 * late update) replaces its row instead of adding one. The key columns must carry a PRIMARY KEY or
 * UNIQUE constraint in the table (the live store's schema declares them).
 */
public final class SqliteDialect extends AbstractDialect {
    private static final long serialVersionUID = 1L;

    @Override
    public String dialectName() {
        return "SQLite";
    }

    @Override
    public Optional<String> defaultDriverName() {
        return Optional.of("org.sqlite.JDBC");
    }

    @Override
    public JdbcDialectConverter getRowConverter(RowType rowType) {
        return new Converter(rowType);
    }

    @Override
    public String getLimitClause(long limit) {
        return "LIMIT " + limit;
    }

    @Override
    public String quoteIdentifier(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    @Override
    public Optional<String> getUpsertStatement(String tableName, String[] fieldNames, String[] uniqueKeyFields) {
        Set<String> keys = Set.of(uniqueKeyFields);
        String updates = Arrays.stream(fieldNames)
            .filter(f -> !keys.contains(f))
            .map(f -> quoteIdentifier(f) + " = excluded." + quoteIdentifier(f))
            .collect(Collectors.joining(", "));
        String conflict = Arrays.stream(uniqueKeyFields).map(this::quoteIdentifier).collect(Collectors.joining(", "));
        String action = updates.isEmpty() ? "DO NOTHING" : "DO UPDATE SET " + updates;
        return Optional.of(getInsertIntoStatement(tableName, fieldNames) + " ON CONFLICT (" + conflict + ") " + action);
    }

    @Override
    public Set<LogicalTypeRoot> supportedTypes() {
        // what SQLite stores without loss; timestamps go as text, formatted in the query
        return EnumSet.of(
            LogicalTypeRoot.CHAR, LogicalTypeRoot.VARCHAR, LogicalTypeRoot.BOOLEAN, LogicalTypeRoot.TINYINT,
            LogicalTypeRoot.SMALLINT, LogicalTypeRoot.INTEGER, LogicalTypeRoot.BIGINT, LogicalTypeRoot.FLOAT,
            LogicalTypeRoot.DOUBLE);
    }

    /** The connector's default conversions (strings, integers, doubles) are SQLite's. */
    static final class Converter extends AbstractDialectConverter {
        private static final long serialVersionUID = 1L;

        Converter(RowType rowType) {
            super(rowType);
        }

        @Override
        public String converterName() {
            return "SQLite";
        }
    }
}
