import java.util.ArrayList;
import java.util.List;

public class Stack<T> {
    private final List<T> items = new ArrayList<>();

    public T pop() {
        if (items.isEmpty()) {
            throw new IllegalStateException("pop from an empty stack");
        }
        T top = items.get(items.size() - 1);
        items.remove(items.size() - 1);
        return top;
    }
}
