// The kubelet's configuration is built on the host: its DNS address follows the lab's service
// range, and `lab up` writes the network's own after the role's default, so the plan wins.
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { clusterDnsAddress, KUBELET_CONFIG_PATH, kubeletConfig } from "../../src/kube/kubelet-config.js";
import { KUBERNETES_ENV_PATH, withClusterPlan } from "../../src/lab/file/desired.js";
import { ClusterSchema } from "../../src/lab/file/schema.js";

describe("kubelet configuration", () => {
  it("puts the cluster DNS at the service range's 10th address", () => {
    expect(clusterDnsAddress()).toBe("10.10.0.10");
    expect(clusterDnsAddress("10.96.0.0/12")).toBe("10.96.0.10");
    expect(() => clusterDnsAddress("10.96.0.0/29")).toThrow(/no room/);
    expect(() => clusterDnsAddress("10.96.0.1/24")).toThrow(/host bits/);
  });

  it("is a KubeletConfiguration that refuses anonymous requests and names its client CA", () => {
    type Config = {
      apiVersion: string;
      kind: string;
      clusterDNS: string[];
      cgroupDriver: string;
      authentication: { anonymous: { enabled: boolean }; x509: { clientCAFile: string } };
      authorization: { mode: string };
    };
    const c = yaml.load(kubeletConfig({ serviceRange: "10.20.0.0/24" })) as Config;
    expect(c.apiVersion).toBe("kubelet.config.k8s.io/v1beta1");
    expect(c.kind).toBe("KubeletConfiguration");
    expect(c.clusterDNS).toEqual(["10.20.0.10"]);
    expect(c.authentication.anonymous.enabled).toBe(false);
    expect(c.authentication.x509.clientCAFile).toBe("/var/lib/lab/kubernetes/kubelet-client-ca.crt");
    expect(c.authorization.mode).toBe("Webhook");
    expect(c.cgroupDriver).toBe("systemd");
  });

  it("is written by lab up's cluster plan with the network's service range", () => {
    const cluster = ClusterSchema.parse({ podNetwork: "10.0.0.0/16", serviceRange: "10.30.0.0/22" });
    const extra = withClusterPlan({ write_files: [{ path: "/etc/motd", content: "hi\n" }] }, cluster) as {
      write_files: { path: string; content: string }[];
    };
    expect(extra.write_files.map((f) => f.path)).toEqual([
      KUBERNETES_ENV_PATH,
      KUBELET_CONFIG_PATH,
      "/etc/motd",
    ]);
    const kubelet = extra.write_files.find((f) => f.path === KUBELET_CONFIG_PATH)!;
    expect(kubelet.content).toMatch(/clusterDNS:\n {2}- 10\.30\.0\.10\n/);
  });
});
