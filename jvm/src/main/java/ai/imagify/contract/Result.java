package ai.imagify.contract;

/** The verdict on one record: the typed event, or ok=false with reason, detail, payload and record key. */
public final class Result {
    public boolean ok;
    public String eventId;
    public String eventType;
    public int schemaVersion;
    /** occurred_at, epoch microseconds UTC. */
    public long occurredAtMicros;
    public String userId;
    public String sessionId;
    public String source;
    /** The properties object as compact JSON text, exactly as Python's encoder writes it. */
    public String properties;
    /** The properties object as decoded (what {@link #properties} encodes); valid records only. */
    public java.util.Map<String, Object> props;
    public String reason;
    public String detail;
    /** Rejected only: the record as text, invalid UTF-8 bytes as \xNN. */
    public String payload;
    /** Rejected only: lower-case hex SHA-256 of the raw bytes. */
    public String recordKey;
}
