package ai.imagify.flink;

import ai.imagify.terms.PromptTerms;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.TableFunction;

/**
 * {@code extract_prompt_terms(prompt)} of the real-time job: one row per distinct term of a prompt
 * ({@link PromptTerms}), in the JVM, so the job needs no Python worker.
 */
@FunctionHint(output = @DataTypeHint("ROW<term STRING>"))
public final class ExtractPromptTerms extends TableFunction<org.apache.flink.types.Row> {
    private static final long serialVersionUID = 1L;
    private transient PromptTerms terms;

    @Override
    public void open(FunctionContext context) {
        terms = PromptTerms.withBundledStopwords();
    }

    public void eval(String prompt) {
        if (terms == null) {
            terms = PromptTerms.withBundledStopwords();
        }
        for (String term : terms.terms(prompt)) {
            collect(org.apache.flink.types.Row.of(term));
        }
    }
}
