package org.ssl4mis.networks;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.ssl4mis.nn.StateDict;

/** The factory: every name builds, bad names and options say what is valid. */
class NetworksTest {

  @Test
  void everyNameBuildsWithTheReferenceDefaults() {
    for (String name : Networks.NAMES) {
      boolean threeD = Networks.NAMES.indexOf(name) >= Networks.NAMES.indexOf("unet_3D");
      Networks.Network n = Networks.create(name, 1, threeD ? 2 : 4);
      assertEquals(name, n.name());
      assertTrue(StateDict.parameterCount(n.module()) > 0, name);
    }
    // Spot checks against the reference's parameter counts (torch, default constructor arguments).
    assertEquals(1_813_764, StateDict.parameterCount(Networks.create("unet", 1, 4).module()));
  }

  @Test
  void unknownNamesAndOptionsListWhatIsValid() {
    var e = assertThrows(IllegalArgumentException.class, () -> Networks.create("unet2", 1, 4));
    assertTrue(e.getMessage().contains("valid names") && e.getMessage().contains("unet_urpc"), e.getMessage());
    var o = assertThrows(IllegalArgumentException.class,
        () -> Networks.create("vnet", 1, 2, Networks.Options.of("filters", "8")));
    assertTrue(o.getMessage().contains("n_filters"), o.getMessage());
    var v = assertThrows(IllegalArgumentException.class,
        () -> Networks.create("unet", 1, 4, Networks.Options.of("feature_chns", "a,b")));
    assertTrue(v.getMessage().contains("feature_chns"), v.getMessage());
    Networks.Network small = Networks.create("vnet", 1, 2, Networks.Options.parse("n_filters=4;normalization=instancenorm"));
    assertTrue(StateDict.parameterCount(small.module()) < StateDict.parameterCount(Networks.create("vnet", 1, 2).module()));
  }
}
