package ai.imagify.contract;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON as Python's {@code json} module reads and writes it, exactly: the landing job's verdicts must
 * be those of {@code ingestion/contract.py} (its decoder: {@code json.JSONDecoder(parse_constant=reject,
 * parse_float=finite float)}, strict strings; its encoder: {@code ensure_ascii=False,
 * separators=(",", ":")}). Written by hand because no JSON library reproduces CPython's grammar
 * (NaN/Infinity, duplicate keys keeping the first position, lone surrogates, the 4300-digit int limit)
 * nor its float repr; {@code tests/integration/flink_jobs/test_contract_jvm_parity.py} holds the two together.
 *
 * <p>Values: {@link Map} (a {@link LinkedHashMap}: duplicate keys keep their first position and
 * take the last value, as a Python dict), {@link List}, {@link String}, {@link Boolean}, {@link
 * Long} or {@link BigInteger} (JSON integers), {@link Double} (JSON numbers with a fraction or an
 * exponent), {@link #NULL}.
 */
public final class PyJson {
    /** JSON null (a map cannot tell a missing key from a null value with Java's null). */
    public static final Object NULL = new Object() {
        @Override
        public String toString() {
            return "null";
        }
    };

    /** Nesting deeper than this is rejected (contract.MAX_DEPTH). */
    public static final int MAX_DEPTH = 500;

    /** CPython's default limit on the digits of an int parsed from text (sys.int_info.default_max_str_digits). */
    static final int MAX_INT_DIGITS = 4300;

    /** Thrown for any text Python's decoder would refuse (reason not_json, empty detail). */
    public static final class DecodeError extends Exception {
        private static final long serialVersionUID = 1L;

        DecodeError() {
            super(null, null, false, false);
        }
    }

    private static final DecodeError ERROR = new DecodeError();

    private final char[] s;
    private final int n;
    private int pos;
    /** A \\u escape produced a surrogate: the caller checks for unpaired ones (Python: not_json/utf-8). */
    boolean escapedSurrogate;

    // the text as an array: the scanner reads it char by char (String.charAt checks the index and the
    // coder on every call: a fifth of the parse time on the texts with non-Latin-1 prompts)
    private PyJson(String text) {
        this.s = text.toCharArray();
        this.n = s.length;
    }

    /** Decode a JSON text as {@code json.loads} would (whole text, surrounding whitespace allowed). */
    public static Object decode(String text, boolean[] escapedSurrogate) throws DecodeError {
        PyJson p = new PyJson(text);
        p.skipWs();
        Object v = p.value(0);
        p.skipWs();
        if (p.pos != p.n) {
            throw ERROR; // "Extra data"
        }
        escapedSurrogate[0] = p.escapedSurrogate;
        return v;
    }

    private void skipWs() {
        while (pos < n) {
            char c = s[pos];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                pos++;
            } else {
                return;
            }
        }
    }

    private Object value(int depth) throws DecodeError {
        if (pos >= n) {
            throw ERROR;
        }
        char c = s[pos];
        switch (c) {
            case '{':
                return object(depth + 1);
            case '[':
                return array(depth + 1);
            case '"':
                pos++;
                return string();
            case 'n':
                return literal("null", NULL);
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return number();
                }
                throw ERROR; // includes NaN / Infinity (parse_constant rejects them) and anything else
        }
    }

    private boolean startsWith(String word) {
        if (pos + word.length() > n) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (s[pos + i] != word.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private Object literal(String word, Object v) throws DecodeError {
        if (startsWith(word)) {
            pos += word.length();
            return v;
        }
        throw ERROR;
    }

    private Map<String, Object> object(int depth) throws DecodeError {
        if (depth > MAX_DEPTH) {
            throw ERROR;
        }
        pos++; // '{'
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        skipWs();
        if (pos < n && s[pos] == '}') {
            pos++;
            return m;
        }
        while (true) {
            if (pos >= n || s[pos] != '"') {
                throw ERROR; // "Expecting property name enclosed in double quotes"
            }
            pos++;
            String key = string();
            skipWs();
            if (pos >= n || s[pos] != ':') {
                throw ERROR;
            }
            pos++;
            skipWs();
            m.put(key, value(depth));
            skipWs();
            if (pos >= n) {
                throw ERROR;
            }
            char c = s[pos++];
            if (c == '}') {
                return m;
            }
            if (c != ',') {
                throw ERROR;
            }
            skipWs();
        }
    }

    private List<Object> array(int depth) throws DecodeError {
        if (depth > MAX_DEPTH) {
            throw ERROR;
        }
        pos++; // '['
        ArrayList<Object> a = new ArrayList<>();
        skipWs();
        if (pos < n && s[pos] == ']') {
            pos++;
            return a;
        }
        while (true) {
            a.add(value(depth));
            skipWs();
            if (pos >= n) {
                throw ERROR;
            }
            char c = s[pos++];
            if (c == ']') {
                return a;
            }
            if (c != ',') {
                throw ERROR;
            }
            skipWs();
        }
    }

    /** After the opening quote. Strict: control characters (< 0x20) are refused, as json.loads does. */
    private String string() throws DecodeError {
        int start = pos;
        // fast path: no escapes
        while (pos < n) {
            char c = s[pos];
            if (c == '"') {
                String out = new String(s, start, pos - start);
                pos++;
                return out;
            }
            if (c == '\\') {
                break;
            }
            if (c < 0x20) {
                throw ERROR;
            }
            pos++;
        }
        StringBuilder b = new StringBuilder(pos - start + 16);
        b.append(s, start, pos - start);
        while (pos < n) {
            char c = s[pos++];
            if (c == '"') {
                return b.toString();
            }
            if (c < 0x20) {
                throw ERROR;
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= n) {
                throw ERROR;
            }
            char e = s[pos++];
            switch (e) {
                case '"': b.append('"'); break;
                case '\\': b.append('\\'); break;
                case '/': b.append('/'); break;
                case 'b': b.append('\b'); break;
                case 'f': b.append('\f'); break;
                case 'n': b.append('\n'); break;
                case 'r': b.append('\r'); break;
                case 't': b.append('\t'); break;
                case 'u': {
                    int cp = hex4();
                    if (cp >= 0xd800 && cp <= 0xdbff && pos + 6 <= n && s[pos] == '\\' && s[pos + 1] == 'u') {
                        int save = pos;
                        pos += 2;
                        int lo = hex4();
                        if (lo >= 0xdc00 && lo <= 0xdfff) {
                            b.append((char) cp).append((char) lo); // a pair: one code point
                            break;
                        }
                        pos = save; // not a low surrogate: the high one stays alone
                    }
                    if (cp >= 0xd800 && cp <= 0xdfff) {
                        escapedSurrogate = true;
                    }
                    b.append((char) cp);
                    break;
                }
                default:
                    throw ERROR; // "Invalid \\escape"
            }
        }
        throw ERROR; // "Unterminated string"
    }

    private int hex4() throws DecodeError {
        if (pos + 4 > n) {
            throw ERROR;
        }
        int v = 0;
        for (int i = 0; i < 4; i++) {
            char c = s[pos++];
            int d;
            if (c >= '0' && c <= '9') {
                d = c - '0';
            } else if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;
            } else if (c >= 'A' && c <= 'F') {
                d = c - 'A' + 10;
            } else {
                throw ERROR;
            }
            v = (v << 4) | d;
        }
        return v;
    }

    /** {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?} (ASCII digits, as CPython's scanner). */
    private Object number() throws DecodeError {
        int start = pos;
        if (s[pos] == '-') {
            pos++;
        }
        if (pos >= n) {
            throw ERROR;
        }
        char c = s[pos];
        if (c == '0') {
            pos++;
        } else if (c >= '1' && c <= '9') {
            while (pos < n && isDigit(s[pos])) {
                pos++;
            }
        } else {
            throw ERROR; // '-' then not a digit (also -Infinity)
        }
        int intEnd = pos;
        boolean isFloat = false;
        if (pos + 1 < n && s[pos] == '.' && isDigit(s[pos + 1])) {
            pos += 2;
            while (pos < n && isDigit(s[pos])) {
                pos++;
            }
            isFloat = true;
        }
        if (pos < n && (s[pos] == 'e' || s[pos] == 'E')) {
            int p = pos + 1;
            if (p < n && (s[p] == '+' || s[p] == '-')) {
                p++;
            }
            if (p < n && isDigit(s[p])) {
                while (p < n && isDigit(s[p])) {
                    p++;
                }
                pos = p;
                isFloat = true;
            }
        }
        String text = new String(s, start, pos - start);
        if (isFloat) {
            double d = Double.parseDouble(text);
            if (Double.isInfinite(d) || Double.isNaN(d)) {
                throw ERROR; // out of the float range: could never be written back as JSON
            }
            return d;
        }
        int digits = intEnd - start - (s[start] == '-' ? 1 : 0);
        if (digits > MAX_INT_DIGITS) {
            throw ERROR; // ValueError: Exceeds the limit for integer string conversion
        }
        if (digits <= 18) {
            return Long.parseLong(text);
        }
        BigInteger big = new BigInteger(text);
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** True when a string holds an unpaired surrogate (Python cannot encode it as UTF-8). */
    static boolean hasLoneSurrogate(String v) {
        for (int i = 0, len = v.length(); i < len; i++) {
            char c = v.charAt(i);
            if (Character.isHighSurrogate(c)) {
                if (i + 1 < len && Character.isLowSurrogate(v.charAt(i + 1))) {
                    i++;
                } else {
                    return true;
                }
            } else if (Character.isLowSurrogate(c)) {
                return true;
            }
        }
        return false;
    }

    /** Any unpaired surrogate in a decoded value, keys included (iterative: depth is bounded anyway). */
    static boolean containsLoneSurrogate(Object v) {
        ArrayList<Object> stack = new ArrayList<>();
        stack.add(v);
        while (!stack.isEmpty()) {
            Object x = stack.remove(stack.size() - 1);
            if (x instanceof String) {
                if (hasLoneSurrogate((String) x)) {
                    return true;
                }
            } else if (x instanceof Map) {
                for (Map.Entry<?, ?> e : ((Map<?, ?>) x).entrySet()) {
                    if (hasLoneSurrogate((String) e.getKey())) {
                        return true;
                    }
                    stack.add(e.getValue());
                }
            } else if (x instanceof List) {
                stack.addAll((List<?>) x);
            }
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------
    // encoding: json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    // ------------------------------------------------------------------------------------------
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    public static String encode(Object v) {
        StringBuilder b = new StringBuilder(128);
        encode(v, b);
        return b.toString();
    }

    static void encode(Object v, StringBuilder b) {
        if (v instanceof String) {
            encodeString((String) v, b);
        } else if (v instanceof Map) {
            b.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                encodeString((String) e.getKey(), b);
                b.append(':');
                encode(e.getValue(), b);
            }
            b.append('}');
        } else if (v instanceof List) {
            b.append('[');
            boolean first = true;
            for (Object x : (List<?>) v) {
                if (!first) {
                    b.append(',');
                }
                first = false;
                encode(x, b);
            }
            b.append(']');
        } else if (v instanceof Double) {
            b.append(PyFloat.repr((Double) v));
        } else if (v == NULL) {
            b.append("null");
        } else if (v instanceof Boolean) {
            b.append(((Boolean) v) ? "true" : "false");
        } else {
            b.append(v.toString()); // Long, BigInteger: Python's int repr
        }
    }

    private static boolean needsEscape(String v) {
        for (int i = 0, len = v.length(); i < len; i++) {
            char c = v.charAt(i);
            if (c < 0x20 || c == '"' || c == '\\') {
                return true;
            }
        }
        return false;
    }

    static void encodeString(String v, StringBuilder b) {
        b.append('"');
        if (!needsEscape(v)) { // the common case: one bulk copy instead of a call per char
            b.append(v).append('"');
            return;
        }
        for (int i = 0, len = v.length(); i < len; i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                case '\b': b.append("\\b"); break;
                case '\f': b.append("\\f"); break;
                default:
                    if (c < 0x20) {
                        b.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
    }
}
