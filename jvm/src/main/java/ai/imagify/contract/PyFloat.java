package ai.imagify.contract;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.schubfach.DoubleToDecimal;

/**
 * Python's {@code repr(float)}: the shortest decimal that reads back as the same double (closest to
 * it among the shortest), fixed notation when the decimal exponent is in [-4, 16), else {@code
 * d.ddde+XX}. Digits come from Schubfach (Giulietti), the algorithm of Java 19's Double.toString,
 * shipped in Flink's runtime (Java 17's own Double.toString is not always shortest). Schubfach may
 * pick a 2-digit decimal where a 1-digit one also reads back (e.g. 4.9E-324 for 5e-324); Python takes
 * the 1-digit one, so that case is checked here.
 */
final class PyFloat {
    private PyFloat() {}

    static String repr(double v) {
        if (v == 0.0) {
            return (Double.doubleToRawLongBits(v) < 0) ? "-0.0" : "0.0";
        }
        String j = DoubleToDecimal.toString(v);
        boolean neg = j.charAt(0) == '-';
        if (neg) {
            j = j.substring(1);
        }
        // Java form: digits with one '.', optionally E<exp>
        int ePos = j.indexOf('E');
        int exp = 0;
        String mant = j;
        if (ePos >= 0) {
            exp = Integer.parseInt(j.substring(ePos + 1));
            mant = j.substring(0, ePos);
        }
        int dot = mant.indexOf('.');
        String intPart = mant.substring(0, dot);
        String fracPart = mant.substring(dot + 1);
        String all = intPart + fracPart;
        // decpt: position of the decimal point relative to the start of the digit string
        int decpt = intPart.length() + exp;
        int lead = 0;
        while (lead < all.length() - 1 && all.charAt(lead) == '0') {
            lead++;
        }
        all = all.substring(lead);
        decpt -= lead;
        int end = all.length();
        while (end > 1 && all.charAt(end - 1) == '0') {
            end--;
        }
        String digits = all.substring(0, end);
        if (digits.length() == 2) {
            String one = shorterOne(Math.abs(v), digits, decpt);
            if (one != null) {
                digits = one.substring(0, 1);
                decpt = Integer.parseInt(one.substring(2));
            }
        }
        return (neg ? "-" : "") + format(digits, decpt);
    }

    /** A 1-digit decimal ("d:decpt") that reads back as {@code v}, the closer of the two candidates. */
    private static String shorterOne(double v, String digits, int decpt) {
        int d0 = digits.charAt(0) - '0';
        String best = null;
        java.math.BigDecimal exact = new java.math.BigDecimal(v);
        java.math.BigDecimal bestErr = null;
        for (int d = d0; d <= d0 + 1; d++) {
            int dd = d;
            int dp = decpt;
            if (dd == 10) {
                dd = 1;
                dp = decpt + 1;
            }
            if (dd == 0) {
                continue;
            }
            String text = dd + "E" + (dp - 1);
            if (Double.parseDouble(text) == v) {
                java.math.BigDecimal err = new java.math.BigDecimal(text).subtract(exact).abs();
                if (bestErr == null || err.compareTo(bestErr) < 0) {
                    bestErr = err;
                    best = dd + ":" + dp;
                }
            }
        }
        return best;
    }

    /** CPython's format_float_short for 'r' with Py_DTSF_ADD_DOT_0. */
    private static String format(String digits, int decpt) {
        int nd = digits.length();
        StringBuilder b = new StringBuilder(nd + 8);
        if (decpt <= -4 || decpt > 16) {
            b.append(digits.charAt(0));
            if (nd > 1) {
                b.append('.').append(digits, 1, nd);
            }
            int e = decpt - 1;
            b.append('e').append(e < 0 ? '-' : '+');
            int ae = Math.abs(e);
            if (ae < 10) {
                b.append('0');
            }
            b.append(ae);
            return b.toString();
        }
        if (decpt <= 0) {
            b.append("0.");
            for (int i = 0; i < -decpt; i++) {
                b.append('0');
            }
            b.append(digits);
        } else if (decpt < nd) {
            b.append(digits, 0, decpt).append('.').append(digits, decpt, nd);
        } else {
            b.append(digits);
            for (int i = nd; i < decpt; i++) {
                b.append('0');
            }
            b.append(".0");
        }
        return b.toString();
    }
}
