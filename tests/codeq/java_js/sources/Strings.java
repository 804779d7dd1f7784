public class Strings {
    public static String reverse(String text) {
        StringBuilder builder = new StringBuilder();
        for (int i = text.length() - 1; i >= 0; i--) {
            char c = text.charAt(i);
            builder.append(c);
        }
        return builder.toString();
    }
}
