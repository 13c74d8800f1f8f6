package ai.imagify.jdbc;

import org.apache.flink.connector.jdbc.core.database.JdbcFactory;
import org.apache.flink.connector.jdbc.core.database.catalog.JdbcCatalog;
import org.apache.flink.connector.jdbc.core.database.dialect.JdbcDialect;

/**
 * Makes {@code jdbc:sqlite:} URLs usable by Flink's JDBC connector (flink-connector-jdbc-core ships
 * dialects for Derby and, in separate modules, server databases; none for SQLite). Found through
 * {@code META-INF/services/org.apache.flink.connector.jdbc.core.database.JdbcFactory}. Sink only: the
 * real-time job upserts its window results into the live store (realtime/store.py).
 */
public final class SqliteFactory implements JdbcFactory {
    @Override
    public boolean acceptsURL(String url) {
        return url.startsWith("jdbc:sqlite:");
    }

    @Override
    public JdbcDialect createDialect() {
        return new SqliteDialect();
    }

    @Override
    public JdbcCatalog createCatalog(
            ClassLoader classLoader, String catalogName, String defaultDatabase, String username, String pwd,
            String baseUrl) {
        throw new UnsupportedOperationException("SQLite: no JDBC catalog (sink tables only)");
    }
}
