package ai.imagify.terms;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import ai.imagify.contract.PyJson;

/**
 * For the parity test: reads prompts, one per line, as JSON strings on stdin (so any character
 * survives), writes each prompt's terms as a JSON array of strings per line.
 *
 * <pre>
 *   java -cp build/jvm/imagify-jvm.jar ai.imagify.terms.TermsMain [STOPWORDS_CSV] &lt; prompts
 *   ... TermsMain --categories   the general category of every code point, one per line
 * </pre>
 */
public final class TermsMain {
    // Character.getType constants → the two-letter names of unicodedata.category
    private static final String[] CATEGORIES = {
        "Cn", "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Me", "Mc", "Nd", "Nl", "No", "Zs", "Zl", "Zp", "Cc", "Cf", "",
        "Co", "Cs", "Pd", "Ps", "Pe", "Pc", "Po", "Sm", "Sc", "Sk", "So", "Pi", "Pf",
    };

    private TermsMain() {}

    public static void main(String[] args) throws IOException {
        if (args.length == 1 && args[0].equals("--categories")) { // for the test's character choice
            PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.US_ASCII));
            for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
                out.println(CATEGORIES[Character.getType(cp)]);
            }
            out.flush();
            return;
        }
        PromptTerms terms;
        if (args.length > 0) {
            try (InputStream in = new FileInputStream(args[0])) {
                terms = new PromptTerms(PromptTerms.readStopwords(in));
            }
        } else {
            terms = PromptTerms.withBundledStopwords();
        }
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            StringBuilder b = new StringBuilder("[");
            String prompt;
            try {
                prompt = (String) PyJson.decode(line, new boolean[1]);
            } catch (PyJson.DecodeError e) {
                throw new IOException("not a JSON string: " + line, e);
            }
            for (String t : terms.terms(prompt)) {
                if (b.length() > 1) {
                    b.append(',');
                }
                b.append(PyJson.encode(t));
            }
            out.println(b.append(']'));
        }
        out.flush();
    }
}
