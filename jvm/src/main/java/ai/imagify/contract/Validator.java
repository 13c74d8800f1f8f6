package ai.imagify.contract;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.DateTimeException;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The event contract v1 in the JVM: the same verdict, {@code reason} and {@code detail} as {@code
 * ingestion/contract.py} (the spec and the oracle; {@code tests/integration/flink_jobs/test_contract_jvm_parity.py} runs
 * both over the oracle's vectors and a generated corpus). Mirrors {@code decode_line} and {@code
 * validate_fields} step by step, in the same order. Not thread-safe (one instance per task).
 */
public final class Validator {
    public static final int SCHEMA_VERSION = 1;
    public static final int MAX_RECORD_BYTES = 1024 * 1024;
    public static final long MAX_FUTURE_MICROS = 24L * 3600 * 1_000_000;

    private static final String[] REQUIRED = {
        "event_id", "event_type", "schema_version", "occurred_at", "user_id", "properties"
    };

    /** Kind of a property rule: any string, a JSON integer, a finite JSON number. */
    public enum Kind { STR, INT, NUM }

    /** One property rule: name, kind, inclusive bounds (length for strings; null = open). */
    public static final class Rule {
        public final String name;
        public final Kind kind;
        public final Long lo;
        public final Long hi;

        Rule(String name, Kind kind, Long lo, Long hi) {
            this.name = name;
            this.kind = kind;
            this.lo = lo;
            this.hi = hi;
        }
    }

    private static Rule str(String name) {
        return new Rule(name, Kind.STR, null, null);
    }

    private static Rule str(String name, Long lo, Long hi) {
        return new Rule(name, Kind.STR, lo, hi);
    }

    private static Rule integer(String name, Long lo, Long hi) {
        return new Rule(name, Kind.INT, lo, hi);
    }

    /** PROPERTY_RULES of contract.py, in its order (the parity test compares the two tables). */
    public static final Map<String, Rule[]> RULES = new LinkedHashMap<>();

    static {
        RULES.put("user_signed_up", new Rule[] {str("signup_method")});
        RULES.put("user_logged_in", new Rule[] {});
        RULES.put("generation_requested", new Rule[] {
            str("generation_id"), str("prompt", 1L, 2000L), str("model_requested", 1L, null), integer("n_images", 1L, 4L)});
        RULES.put("generation_completed", new Rule[] {
            str("generation_id"), str("model", 1L, null), integer("n_images", 1L, 4L), integer("latency_ms", 0L, null),
            new Rule("cost_usd", Kind.NUM, 0L, null), integer("credits_charged", 0L, null)});
        RULES.put("generation_failed", new Rule[] {
            str("generation_id"), str("model", 1L, null), str("error_code"), integer("latency_ms", 0L, null)});
        RULES.put("image_downloaded", new Rule[] {str("generation_id"), str("image_id")});
        RULES.put("payment_initiated", new Rule[] {
            str("payment_id"), str("package"), integer("amount_vnd", 1L, null), str("provider")});
        RULES.put("payment_succeeded", new Rule[] {
            str("payment_id"), integer("amount_vnd", 1L, null), integer("credits_added", 1L, null), str("provider")});
        RULES.put("payment_failed", new Rule[] {
            str("payment_id"), integer("amount_vnd", 1L, null), str("response_code")});
        RULES.put("credits_low", new Rule[] {integer("balance", 0L, null)});
    }

    // Python's `$` (no MULTILINE) also matches before a final "\n": UNIX_LINES gives Java's `$` the
    // same meaning. Python's `\d` on str is any Unicode decimal digit: UNICODE_CHARACTER_CLASS.
    private static final Pattern UUID = Pattern.compile(
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", Pattern.UNIX_LINES);
    private static final Pattern RFC3339 = Pattern.compile(
        "^(\\d{4})-(\\d{2})-(\\d{2})[Tt](\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{1,9}))?([Zz]|([+-])(\\d{2}):(\\d{2}))$",
        Pattern.UNIX_LINES | Pattern.UNICODE_CHARACTER_CLASS);

    /** A record that breaks the contract. */
    static final class Reject extends Exception {
        private static final long serialVersionUID = 1L;

        final String reason;
        final String detail;

        Reject(String reason, String detail) {
            super(null, null, false, false);
            this.reason = reason;
            this.detail = detail;
        }
    }

    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final Matcher uuid = UUID.matcher("");
    private final Matcher rfc3339 = RFC3339.matcher("");
    private final boolean[] flag = new boolean[1];
    private final MessageDigest sha256;

    public Validator() {
        try {
            sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The verdict on one raw record, {@code nowMicros} the clock (epoch microseconds, UTC). */
    public Result check(byte[] raw, long nowMicros) {
        Result out = new Result();
        try {
            Object obj = decode(raw);
            validate(obj, nowMicros, out);
            out.ok = true;
        } catch (Reject r) {
            out.ok = false;
            out.reason = r.reason;
            out.detail = r.detail;
            out.payload = payloadText(raw);
            out.recordKey = recordKey(raw);
        }
        return out;
    }

    /** decode_line for bytes. */
    Object decode(byte[] raw) throws Reject {
        if (raw.length > MAX_RECORD_BYTES) {
            throw new Reject("too_large", "");
        }
        String text;
        if (isAscii(raw)) {
            text = new String(raw, StandardCharsets.ISO_8859_1);
        } else {
            try {
                text = utf8.decode(ByteBuffer.wrap(raw)).toString();
            } catch (CharacterCodingException e) {
                throw new Reject("not_json", "utf-8");
            }
        }
        if (!text.isEmpty() && text.charAt(0) == '\ufeff') {
            throw new Reject("not_json", ""); // as json.loads: a byte-order mark is not JSON
        }
        Object obj;
        try {
            obj = PyJson.decode(text, flag);
        } catch (PyJson.DecodeError e) {
            throw new Reject("not_json", "");
        }
        if (flag[0] && PyJson.containsLoneSurrogate(obj)) {
            throw new Reject("not_json", "utf-8");
        }
        return obj;
    }

    private static boolean isAscii(byte[] raw) {
        for (byte b : raw) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }

    /** The UUID pattern's plain case (36 characters, no final newline) without the regex. */
    private static boolean isPlainUuid(String v) {
        if (v.length() != 36) {
            return false;
        }
        for (int i = 0; i < 36; i++) {
            char c = v.charAt(i);
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (c != '-') {
                    return false;
                }
            } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
                return false;
            }
        }
        return true;
    }

    /** validate_fields. */
    @SuppressWarnings("unchecked")
    void validate(Object o, long nowMicros, Result out) throws Reject {
        if (!(o instanceof Map)) {
            throw new Reject("not_object", "");
        }
        Map<String, Object> obj = (Map<String, Object>) o;
        for (String f : REQUIRED) {
            if (!obj.containsKey(f)) {
                throw new Reject("missing_field", f);
            }
        }
        Object eventId = obj.get("event_id");
        if (!(eventId instanceof String)) {
            throw new Reject("wrong_type", "event_id");
        }
        if (!isPlainUuid((String) eventId) && !uuid.reset((String) eventId).find()) {
            throw new Reject("bad_value", "event_id");
        }
        Object eventType = obj.get("event_type");
        if (!(eventType instanceof String)) {
            throw new Reject("wrong_type", "event_type");
        }
        Rule[] rules = RULES.get(eventType);
        if (rules == null) {
            throw new Reject("unknown_event_type", "event_type");
        }
        Object version = obj.get("schema_version");
        if (!(version instanceof Long || version instanceof BigInteger)) {
            throw new Reject("wrong_type", "schema_version");
        }
        if (!(version instanceof Long) || (Long) version != SCHEMA_VERSION) {
            throw new Reject("unsupported_schema_version", "schema_version");
        }
        Object occurred = obj.get("occurred_at");
        if (!(occurred instanceof String)) {
            throw new Reject("wrong_type", "occurred_at");
        }
        long occurredMicros = parseTimestamp((String) occurred);
        if (occurredMicros > nowMicros + MAX_FUTURE_MICROS) {
            throw new Reject("future_timestamp", "occurred_at");
        }
        Object userId = obj.get("user_id");
        if (!(userId instanceof String)) {
            throw new Reject("wrong_type", "user_id");
        }
        if (((String) userId).isEmpty()) {
            throw new Reject("bad_value", "user_id");
        }
        Object sessionId = obj.get("session_id");
        if (sessionId == PyJson.NULL) {
            sessionId = null;
        }
        if (sessionId != null && !(sessionId instanceof String)) {
            throw new Reject("wrong_type", "session_id");
        }
        Object source = obj.get("source");
        if (obj.containsKey("source") && !(source instanceof String)) {
            throw new Reject("wrong_type", "source");
        }
        Object props = obj.get("properties");
        if (!(props instanceof Map)) {
            throw new Reject("wrong_type", "properties");
        }
        Map<String, Object> p = (Map<String, Object>) props;
        for (Rule rule : rules) {
            if (!p.containsKey(rule.name)) {
                throw new Reject("missing_field", "properties." + rule.name);
            }
            check(p.get(rule.name), rule);
        }
        out.eventId = ((String) eventId).toLowerCase(java.util.Locale.ROOT);
        out.eventType = (String) eventType;
        out.schemaVersion = SCHEMA_VERSION;
        out.occurredAtMicros = occurredMicros;
        out.userId = (String) userId;
        out.sessionId = (String) sessionId;
        out.source = (String) source;
        out.properties = PyJson.encode(p);
        out.props = p;
    }

    private static void check(Object value, Rule rule) throws Reject {
        String field = "properties." + rule.name;
        switch (rule.kind) {
            case STR: {
                if (!(value instanceof String)) {
                    throw new Reject("wrong_type", field);
                }
                if (rule.lo != null || rule.hi != null) {
                    String s = (String) value;
                    long len = s.codePointCount(0, s.length()); // Python's len: code points
                    if ((rule.lo != null && len < rule.lo) || (rule.hi != null && len > rule.hi)) {
                        throw new Reject("bad_value", field);
                    }
                }
                return;
            }
            case INT:
                if (!(value instanceof Long || value instanceof BigInteger)) {
                    throw new Reject("wrong_type", field);
                }
                break;
            case NUM:
                if (!(value instanceof Long || value instanceof BigInteger || value instanceof Double)) {
                    throw new Reject("wrong_type", field);
                }
                if (value instanceof Double && !Double.isFinite((Double) value)) {
                    throw new Reject("bad_value", field);
                }
                break;
            default:
                throw new IllegalStateException();
        }
        if ((rule.lo != null && compare(value, rule.lo) < 0) || (rule.hi != null && compare(value, rule.hi) > 0)) {
            throw new Reject("bad_value", field);
        }
    }

    /** Exact comparison of a JSON number with an integer bound (as Python compares int/float with int). */
    private static int compare(Object v, long bound) {
        if (v instanceof Long) {
            return Long.compare((Long) v, bound);
        }
        if (v instanceof BigInteger) {
            return ((BigInteger) v).compareTo(BigInteger.valueOf(bound));
        }
        double d = (Double) v;
        if (Math.abs(bound) <= (1L << 53)) { // the bound is exactly a double: compare as doubles (-0.0 == 0)
            double b = bound;
            return d < b ? -1 : (d > b ? 1 : 0);
        }
        return new java.math.BigDecimal(d).compareTo(java.math.BigDecimal.valueOf(bound));
    }

    /** parse_timestamp: RFC 3339 with an offset → epoch microseconds UTC (Reject bad_timestamp). */
    long parseTimestamp(String value) throws Reject {
        // year, month, day, hour, minute, second, microsecond, offset sign (0: Z, 1: +, -1: -), hours, minutes
        int[] f = tsFields;
        if (!scanPlainTimestamp(value, f)) {
            Matcher m = rfc3339.reset(value);
            if (!m.find()) {
                throw new Reject("bad_timestamp", "occurred_at");
            }
            for (int g = 1; g <= 6; g++) {
                f[g - 1] = digits(m.group(g));
            }
            String frac = m.group(7);
            int micro = 0;
            if (frac != null) { // int(frac[:6].ljust(6, "0")), in code points
                int taken = 0;
                for (int i = 0; i < frac.length() && taken < 6; taken++) {
                    int cp = frac.codePointAt(i);
                    micro = micro * 10 + Character.digit(cp, 10);
                    i += Character.charCount(cp);
                }
                for (; taken < 6; taken++) {
                    micro *= 10;
                }
            }
            f[6] = micro;
            String tz = m.group(8);
            if (tz.equals("Z") || tz.equals("z")) {
                f[7] = 0;
            } else {
                f[7] = m.group(9).equals("+") ? 1 : -1;
                f[8] = digits(m.group(10));
                f[9] = digits(m.group(11));
            }
        }
        try {
            int year = f[0];
            int sec = f[5];
            int micro = f[6];
            if (sec == 60) { // a leap second is valid RFC 3339; fold it into the next second's start
                sec = 59;
                micro = 999_999;
            }
            if (year < 1 || year > 9999) {
                throw new Reject("bad_timestamp", "occurred_at");
            }
            LocalDateTime local = LocalDateTime.of(year, f[1], f[2], f[3], f[4], sec, micro * 1000);
            LocalDateTime utc = local;
            if (f[7] != 0) {
                int oh = f[8];
                int om = f[9];
                if (oh > 23 || om > 59) {
                    throw new Reject("bad_timestamp", "occurred_at");
                }
                long offset = oh * 60L + om;
                utc = f[7] > 0 ? local.minusMinutes(offset) : local.plusMinutes(offset);
                if (utc.getYear() < 1 || utc.getYear() > 9999) { // Python: OverflowError
                    throw new Reject("bad_timestamp", "occurred_at");
                }
            }
            return utc.toEpochSecond(ZoneOffset.UTC) * 1_000_000L + utc.getNano() / 1000;
        } catch (DateTimeException e) {
            throw new Reject("bad_timestamp", "occurred_at");
        }
    }

    private final int[] tsFields = new int[10];

    /**
     * The RFC3339 pattern's fields for the plain form every producer writes (ASCII digits, nothing after
     * the offset), without the regex: the same groups, read by position. Anything else (Unicode digits,
     * a final newline that Python's {@code $} accepts, a malformed text) returns false: the regex decides.
     */
    private static boolean scanPlainTimestamp(String v, int[] f) {
        int n = v.length();
        if (n < 20 || v.charAt(4) != '-' || v.charAt(7) != '-' || v.charAt(13) != ':' || v.charAt(16) != ':') {
            return false;
        }
        char t = v.charAt(10);
        if (t != 'T' && t != 't') {
            return false;
        }
        int y = num(v, 0, 4);
        int mo = num(v, 5, 2);
        int d = num(v, 8, 2);
        int h = num(v, 11, 2);
        int mi = num(v, 14, 2);
        int s = num(v, 17, 2);
        if ((y | mo | d | h | mi | s) < 0) {
            return false;
        }
        int i = 19;
        int micro = 0;
        if (v.charAt(i) == '.') {
            int j = i + 1;
            int taken = 0;
            while (j < n && v.charAt(j) >= '0' && v.charAt(j) <= '9') {
                if (taken < 6) {
                    micro = micro * 10 + (v.charAt(j) - '0');
                    taken++;
                }
                j++;
            }
            if (j == i + 1 || j - i - 1 > 9) {
                return false;
            }
            for (; taken < 6; taken++) {
                micro *= 10;
            }
            i = j;
        }
        if (i >= n) {
            return false;
        }
        char z = v.charAt(i);
        if ((z == 'Z' || z == 'z') && i + 1 == n) {
            f[7] = 0;
        } else if ((z == '+' || z == '-') && i + 6 == n && v.charAt(i + 3) == ':') {
            int oh = num(v, i + 1, 2);
            int om = num(v, i + 4, 2);
            if ((oh | om) < 0) {
                return false;
            }
            f[7] = z == '+' ? 1 : -1;
            f[8] = oh;
            f[9] = om;
        } else {
            return false;
        }
        f[0] = y;
        f[1] = mo;
        f[2] = d;
        f[3] = h;
        f[4] = mi;
        f[5] = s;
        f[6] = micro;
        return true;
    }

    /** The value of {@code len} ASCII digits at {@code at}, or -1. */
    private static int num(String v, int at, int len) {
        int x = 0;
        for (int i = at; i < at + len; i++) {
            char c = v.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            x = x * 10 + (c - '0');
        }
        return x;
    }

    /** int() of a run of Unicode decimal digits (the regex admits only those). */
    private static int digits(String s) {
        int v = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            v = v * 10 + Character.digit(cp, 10);
            i += Character.charCount(cp);
        }
        return v;
    }

    /** payload_text: UTF-8, invalid bytes kept visible as {@code \xNN} (errors="backslashreplace"). */
    public String payloadText(byte[] raw) {
        if (isAscii(raw)) {
            return new String(raw, StandardCharsets.ISO_8859_1);
        }
        try {
            return utf8.decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            // fall through: decode sequence by sequence
        }
        StringBuilder b = new StringBuilder(raw.length + 16);
        int i = 0;
        while (i < raw.length) {
            int len = validSequence(raw, i);
            if (len == 0) {
                int x = raw[i] & 0xff;
                b.append("\\x").append(Character.forDigit(x >> 4, 16)).append(Character.forDigit(x & 0xf, 16));
                i++;
            } else {
                b.append(new String(raw, i, len, StandardCharsets.UTF_8));
                i += len;
            }
        }
        return b.toString();
    }

    /** Length of the well-formed UTF-8 sequence at {@code i} (Unicode table 3-7), 0 if none. */
    static int validSequence(byte[] r, int i) {
        int b0 = r[i] & 0xff;
        if (b0 < 0x80) {
            return 1;
        }
        int n = r.length;
        if (b0 >= 0xc2 && b0 <= 0xdf) {
            return (i + 1 < n && cont(r[i + 1], 0x80, 0xbf)) ? 2 : 0;
        }
        if (b0 >= 0xe0 && b0 <= 0xef) {
            int lo = b0 == 0xe0 ? 0xa0 : 0x80;
            int hi = b0 == 0xed ? 0x9f : 0xbf;
            return (i + 2 < n && cont(r[i + 1], lo, hi) && cont(r[i + 2], 0x80, 0xbf)) ? 3 : 0;
        }
        if (b0 >= 0xf0 && b0 <= 0xf4) {
            int lo = b0 == 0xf0 ? 0x90 : 0x80;
            int hi = b0 == 0xf4 ? 0x8f : 0xbf;
            return (i + 3 < n && cont(r[i + 1], lo, hi) && cont(r[i + 2], 0x80, 0xbf) && cont(r[i + 3], 0x80, 0xbf))
                ? 4 : 0;
        }
        return 0;
    }

    private static boolean cont(byte b, int lo, int hi) {
        int x = b & 0xff;
        return x >= lo && x <= hi;
    }

    /** record_key: lower-case hex SHA-256 of the raw bytes. */
    public String recordKey(byte[] raw) {
        byte[] d = sha256.digest(raw);
        char[] out = new char[64];
        for (int i = 0; i < 32; i++) {
            out[2 * i] = Character.forDigit((d[i] >> 4) & 0xf, 16);
            out[2 * i + 1] = Character.forDigit(d[i] & 0xf, 16);
        }
        return new String(out);
    }

    /** The rules as Python literals, for the parity test: {type: [(name, kind, lo, hi), ...]}. */
    public static String rulesAsJson() {
        StringBuilder b = new StringBuilder("{");
        boolean first = true;
        for (Map.Entry<String, Rule[]> e : RULES.entrySet()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append('"').append(e.getKey()).append("\":[");
            for (int i = 0; i < e.getValue().length; i++) {
                Rule r = e.getValue()[i];
                if (i > 0) {
                    b.append(',');
                }
                b.append("[\"").append(r.name).append("\",\"").append(r.kind.name().toLowerCase(java.util.Locale.ROOT))
                    .append("\",").append(r.lo).append(',').append(r.hi).append(']');
            }
            b.append(']');
        }
        return b.append('}').toString();
    }

    static List<String> required() {
        return List.of(REQUIRED);
    }
}
