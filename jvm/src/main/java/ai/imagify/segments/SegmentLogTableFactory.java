package ai.imagify.segments;

import java.time.Duration;
import java.util.Set;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.connector.ChangelogMode;
import org.apache.flink.table.connector.source.DynamicTableSource;
import org.apache.flink.table.connector.source.ScanTableSource;
import org.apache.flink.table.connector.source.SourceProvider;
import org.apache.flink.table.factories.DynamicTableSourceFactory;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * The {@code imagify-segment-log} table connector: {@link SegmentLogSource} as a SQL table, so the
 * jobs declare it like any source ({@code flink_jobs/sources.py}). Its physical columns must be
 * {@code line BYTES, segment STRING NOT NULL} (computed columns such as {@code pt AS PROCTIME()} may
 * follow). Options: {@code path} (the segments directory, a URI), {@code source.monitor-interval}
 * (default 1 s), {@code since-ms} (list only segments published at or after it; default 0: all).
 */
public final class SegmentLogTableFactory implements DynamicTableSourceFactory {
    public static final String IDENTIFIER = "imagify-segment-log";

    public static final ConfigOption<String> PATH = ConfigOptions.key("path").stringType().noDefaultValue()
        .withDescription("directory of published segments");
    public static final ConfigOption<Duration> MONITOR_INTERVAL = ConfigOptions.key("source.monitor-interval")
        .durationType().defaultValue(Duration.ofSeconds(1))
        .withDescription("how often new segments are looked for");
    public static final ConfigOption<Long> SINCE_MS = ConfigOptions.key("since-ms").longType().defaultValue(0L)
        .withDescription("read only segments published at or after this epoch-ms (0: all)");

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(PATH);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return Set.of(MONITOR_INTERVAL, SINCE_MS);
    }

    @Override
    public DynamicTableSource createDynamicTableSource(Context context) {
        FactoryUtil.TableFactoryHelper helper = FactoryUtil.createTableFactoryHelper(this, context);
        helper.validate();
        RowType physical = (RowType) context.getPhysicalRowDataType().getLogicalType();
        checkColumns(physical);
        ReadableConfig options = helper.getOptions();
        return new Source(options.get(PATH), options.get(MONITOR_INTERVAL), options.get(SINCE_MS));
    }

    private static void checkColumns(RowType physical) {
        boolean ok = physical.getFieldCount() == 2
            && physical.getFieldNames().equals(SegmentLogSource.ROW_TYPE.getFieldNames())
            && is(physical.getTypeAt(0), LogicalTypeRoot.VARBINARY)
            && is(physical.getTypeAt(1), LogicalTypeRoot.VARCHAR)
            && !physical.getTypeAt(1).isNullable();
        if (!ok) {
            throw new ValidationException(IDENTIFIER + " tables have the physical columns "
                + "(line BYTES, segment STRING NOT NULL), got " + physical.asSummaryString());
        }
    }

    private static boolean is(LogicalType type, LogicalTypeRoot root) {
        return type.getTypeRoot() == root;
    }

    private static final class Source implements ScanTableSource {
        private final String path;
        private final Duration monitorInterval;
        private final long sinceMs;

        Source(String path, Duration monitorInterval, long sinceMs) {
            this.path = path;
            this.monitorInterval = monitorInterval;
            this.sinceMs = sinceMs;
        }

        @Override
        public ChangelogMode getChangelogMode() {
            return ChangelogMode.insertOnly();
        }

        @Override
        public ScanRuntimeProvider getScanRuntimeProvider(ScanContext context) {
            return SourceProvider.of(SegmentLogSource.create(path, monitorInterval, sinceMs));
        }

        @Override
        public DynamicTableSource copy() {
            return new Source(path, monitorInterval, sinceMs);
        }

        @Override
        public String asSummaryString() {
            return IDENTIFIER + "(" + path + ")";
        }
    }
}
