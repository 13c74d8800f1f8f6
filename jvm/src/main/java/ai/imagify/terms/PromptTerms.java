package ai.imagify.terms;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Prompt terms for "trending now", by the rules of foundation/prompt_terms.py (the spec; the dbt
 * macros redact_pii and prompt_segment_terms too): remove URLs, e-mail addresses, bare domains, card
 * and phone numbers, lower-case, cut into phrases at punctuation, keep the words (runs of letters and
 * marks) of two or more code points that are not stop-words; a phrase of one to MAX_PHRASE_WORDS kept
 * words is one term (joined by a space), each word of a longer phrase is a term, if the term has three
 * or more code points; each distinct term once per prompt, in order of first appearance. The parity test (tests/integration/flink_jobs/test_terms_jvm_parity.py)
 * holds the two implementations to the same output.
 *
 * <p>The patterns spell out Python's {@code re} classes instead of Java's: Python's {@code \w} is a
 * letter, a number or '_' (Java's Unicode {@code \w} also takes marks and other connector
 * punctuation), Python's {@code \s} also takes U+001C-U+001F.
 */
public final class PromptTerms {
    public static final int MIN_TERM_LENGTH = 3;
    public static final int MIN_PHRASE_WORD_LENGTH = 2;
    public static final int MAX_PHRASE_WORDS = 4;
    /** Python's SEGMENT_SEPARATORS: ASCII and CJK punctuation that ends a phrase. */
    private static final Pattern SEGMENT_SEPARATORS =
        Pattern.compile("[,;|.!?:\\n\\r\\t()\\[\\]{}\\x{ff0c}\\x{3001}\\x{3002}\\x{ff1b}\\x{ff1a}\\x{ff01}\\x{ff1f}]");
    /** The seed of the marts (dbt/seeds/prompt_stopwords.csv), copied into the jar by jvm/build.sh. */
    public static final String STOPWORDS_RESOURCE = "/ai/imagify/terms/prompt_stopwords.csv";

    private static final String W = "[\\p{L}\\p{N}_]";
    private static final String WD = "[\\p{L}\\p{N}_\\-]";
    private static final String NON_SPACE = "[^\\s\\x{1c}-\\x{1f}]";
    private static final int CI = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS;
    private static final Pattern[] PATTERNS = {
        Pattern.compile("(https?://|ftp://|www\\.)" + NON_SPACE + "+", CI), // url
        Pattern.compile("[\\p{L}\\p{N}_.%+\\-]+@" + WD + "+(\\." + WD + "+)*"), // email
        Pattern.compile("(" + WD + "+\\.)+(com|net|org|vn|io|co|info|biz|edu|gov|me|app|dev|ai|xyz|shop|online)"
            + "([/:?#]" + NON_SPACE + "*)?", CI), // domain
        Pattern.compile("[0-9]([ \\-]?[0-9]){12,18}"), // card
        Pattern.compile("\\+?[0-9][0-9 ().\\-]{6,}[0-9]"), // phone
    };

    private final Set<String> stopwords;

    public PromptTerms(Set<String> stopwords) {
        this.stopwords = stopwords;
    }

    /** With the stop-words of the seed bundled in the jar. */
    public static PromptTerms withBundledStopwords() {
        try (InputStream in = PromptTerms.class.getResourceAsStream(STOPWORDS_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(STOPWORDS_RESOURCE + " missing from the jar: rebuild it (jvm/build.sh)");
            }
            return new PromptTerms(readStopwords(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The seed's format: a header line, then one word per line. */
    public static Set<String> readStopwords(InputStream in) throws IOException {
        Set<String> out = new HashSet<>();
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        r.readLine();
        for (String line = r.readLine(); line != null; line = r.readLine()) {
            String w = line.strip().toLowerCase(Locale.ROOT);
            if (!w.isEmpty()) {
                out.add(w);
            }
        }
        return out;
    }

    public static String redact(String text) {
        for (Pattern p : PATTERNS) {
            text = p.matcher(text).replaceAll(" ");
        }
        return text;
    }

    /**
     * Python's {@code str.lower()}: each code point's full lower-case mapping, and a capital sigma
     * becomes final (ς) by Python's rule — preceded by a cased letter and not followed by one, skipping
     * case-ignorable characters. Java's {@code String.toLowerCase} decides final sigma by word
     * boundaries instead, and differs (e.g. before a digit).
     */
    static String pythonLower(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            int n = Character.charCount(cp);
            if (cp == 0x03A3) {
                b.append(finalSigma(s, i, n) ? '\u03C2' : '\u03C3');
            } else if (cp < 0x80) {
                b.append((char) (cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
            } else {
                b.append(s.substring(i, i + n).toLowerCase(Locale.ROOT));
            }
            i += n;
        }
        return b.toString();
    }

    private static boolean finalSigma(String s, int at, int width) {
        int j = at;
        int c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            j -= Character.charCount(c);
            if (!isCaseIgnorable(c)) {
                break;
            }
            c = -1;
        }
        if (c < 0 || !isCased(c)) {
            return false;
        }
        for (j = at + width; j < s.length(); ) {
            c = s.codePointAt(j);
            if (!isCaseIgnorable(c)) {
                return !isCased(c);
            }
            j += Character.charCount(c);
        }
        return true;
    }

    private static boolean isCased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable: marks, format characters, modifiers and the word-internal punctuation. */
    private static boolean isCaseIgnorable(int cp) {
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.FORMAT:
            case Character.MODIFIER_LETTER:
            case Character.MODIFIER_SYMBOL:
                return true;
            default:
                return cp == '\'' || cp == '.' || cp == ':' || cp == 0x00B7 || cp == 0x0387 || cp == 0x055F
                    || cp == 0x05F4 || cp == 0x2018 || cp == 0x2019 || cp == 0x2024 || cp == 0x2027 || cp == 0xFE13
                    || cp == 0xFE52 || cp == 0xFE55 || cp == 0xFF07 || cp == 0xFF0E || cp == 0xFF1A || cp == 0x00AD;
        }
    }

    private static boolean isLetterOrMark(int cp) {
        switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER:
            case Character.LOWERCASE_LETTER:
            case Character.TITLECASE_LETTER:
            case Character.MODIFIER_LETTER:
            case Character.OTHER_LETTER:
            case Character.NON_SPACING_MARK:
            case Character.ENCLOSING_MARK:
            case Character.COMBINING_SPACING_MARK:
                return true;
            default:
                return false;
        }
    }

    /** Distinct terms of one prompt, in order of first appearance. */
    public List<String> terms(String prompt) {
        List<String> out = new ArrayList<>();
        if (prompt == null || prompt.isEmpty()) {
            return out;
        }
        String text = pythonLower(redact(prompt));
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        // split(-1): like Python's re.split, keep the empty segments (they hold no word either way)
        for (String segment : SEGMENT_SEPARATORS.split(text, -1)) {
            List<String> words = keptWords(segment);
            for (String term : words.size() <= MAX_PHRASE_WORDS ? List.of(String.join(" ", words)) : words) {
                if (term.codePointCount(0, term.length()) >= MIN_TERM_LENGTH) {
                    seen.add(term);
                }
            }
        }
        out.addAll(seen);
        return out;
    }

    /** The runs of letters and marks of a phrase with at least MIN_PHRASE_WORD_LENGTH code points, not stop-words. */
    private List<String> keptWords(String text) {
        List<String> words = new ArrayList<>();
        int start = -1;
        int len = 0;
        for (int i = 0; i <= text.length(); ) {
            int cp = i < text.length() ? text.codePointAt(i) : -1;
            if (cp >= 0 && isLetterOrMark(cp)) {
                if (start < 0) {
                    start = i;
                    len = 0;
                }
                len++;
            } else if (start >= 0) {
                String word = text.substring(start, i);
                if (len >= MIN_PHRASE_WORD_LENGTH && !stopwords.contains(word)) {
                    words.add(word);
                }
                start = -1;
            }
            i += cp >= 0 ? Character.charCount(cp) : 1;
        }
        return words;
    }
}
