import java.util.Locale;
import java.util.Map;
import org.bytedeco.pytorch.SGD;
import org.bytedeco.pytorch.SGDOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.ssl4mis.memory.MemoryScope;
import org.ssl4mis.networks.UNet;
import org.ssl4mis.nn.StateDict;
import org.ssl4mis.runtime.NativeRuntime;

/**
 * The project in thirty lines: build SSL4MIS's 2D UNet, look at its state dict (the same keys as the
 * Python model's), and run a few SGD steps on random data inside memory scopes.
 *
 * <p>Run: {@code bin/ssl4mis run-example examples/QuickStart.java [iterations]}
 */
public class QuickStart {
  public static void main(String[] args) {
    int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    NativeRuntime.seed(1234);
    UNet net = new UNet(1, 4); // net_factory(net_type="unet", in_chns=1, class_num=4)
    Map<String, Tensor> stateDict = StateDict.of(net);
    System.out.printf(Locale.ROOT, "UNet: %d state-dict entries, %,d parameters; first key %s%n",
        stateDict.size(), StateDict.parameterCount(net), stateDict.keySet().iterator().next());

    SGDOptions options = new SGDOptions(0.01);
    options.momentum().put(0.9);
    options.weight_decay().put(1e-4);
    SGD sgd = new SGD(net.parameters(), options);
    for (int it = 1; it <= iterations; it++) {
      try (MemoryScope scope = MemoryScope.open()) { // frees this iteration's tensors
        Tensor image = torch.randn(2, 1, 64, 64);
        Tensor label = torch.randint(4, new long[] {2, 64, 64});
        sgd.zero_grad();
        Tensor loss = torch.cross_entropy_loss(net.forward(image), label);
        loss.backward();
        sgd.step();
        System.out.printf(Locale.ROOT, "iteration %d: loss %.4f%n", it, loss.item_double());
      }
    }
  }
}
