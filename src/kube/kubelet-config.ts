// The kubelet's configuration file (KubeletConfiguration, kubelet.config.k8s.io/v1beta1: fields
// as kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go names them), built
// on the host where its values are known: the cluster DNS address from the lab's service range,
// the runtime socket and cgroup driver of the lab-flatcar image, and the client CA the API
// server's record delivers (lab-kube writes that file on the node). The role cloud-config writes
// it to /etc/lab/kubelet-config.yaml; `lab-kube kubelet-config` installs it where the unit reads it.
import yaml from "js-yaml";
import { intToIp, parseCidr, size } from "../net/cidr.js";

export const KUBELET_CONFIG_PATH = "/etc/lab/kubelet-config.yaml";
/** Where lab-kube keeps the node's Kubernetes state (LAB_KUBE_STATE in lab-kube.sh). */
export const KUBE_STATE_DIR = "/var/lib/lab/kubernetes";
/** lab.yaml's default service range (lab/file/schema.ts) and the cluster's DNS domain. */
export const DEFAULT_SERVICE_RANGE = "10.10.0.0/22";
export const CLUSTER_DOMAIN = "cluster.local";
/** The cluster DNS server is the service range's 10th address, as kubeadm's default (10.96.0.10). */
const CLUSTER_DNS_INDEX = 10;

export function clusterDnsAddress(serviceRange = DEFAULT_SERVICE_RANGE): string {
  const range = parseCidr(serviceRange, "serviceRange");
  if (size(range) <= CLUSTER_DNS_INDEX + 1)
    throw new RangeError(`serviceRange ${serviceRange} has no room for the cluster DNS address`);
  return intToIp(range.base + CLUSTER_DNS_INDEX);
}

export function kubeletConfig(opts: { serviceRange?: string } = {}): string {
  const config = {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    cgroupDriver: "systemd",
    containerRuntimeEndpoint: "unix:///run/containerd/containerd.sock",
    clusterDNS: [clusterDnsAddress(opts.serviceRange)],
    clusterDomain: CLUSTER_DOMAIN,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${KUBE_STATE_DIR}/kubelet-client-ca.crt` },
    },
    authorization: { mode: "Webhook" },
    failSwapOn: false,
    resolvConf: "/run/systemd/resolve/resolv.conf",
  };
  return yaml.dump(config, { lineWidth: -1, noRefs: true });
}
