import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CloudConfigInput,
  defaultTemplatesDir,
  listRoles,
  renderCloudConfig,
} from "../../src/cloudconfig/render.js";
import { findYaml11Mismatch, YAML11_SCHEMA, Yaml11Scalar } from "../../src/cloudconfig/yaml11.js";
import { LabError, NotFoundError, UsageError } from "../../src/errors.js";

const templates = defaultTemplatesDir();

function input(over: Partial<CloudConfigInput> = {}): CloudConfigInput {
  return {
    name: "etcd",
    role: "etcd",
    ip: "172.16.11.10",
    prefix: 24,
    gateway: "172.16.11.1",
    dns: "172.16.11.1",
    domain: "lab",
    etcdEndpoint: "http://172.16.11.10:2379",
    mirrorUrl: "http://172.16.11.1:8080",
    sshKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7 core@lab"],
    ...over,
  };
}

/** Parses as both readers would: js-yaml (YAML 1.2) and YAML 1.1 resolution (coreos-cloudinit). */
function parseBoth(text: string): { v12: Record<string, unknown>; v11: Record<string, unknown> } {
  const v12 = yaml.load(text) as Record<string, unknown>;
  const v11 = yaml.load(text, { schema: YAML11_SCHEMA }) as Record<string, unknown>;
  expect(v11).toEqual(v12);
  return { v12, v11 };
}

const include = (file: string) => readFileSync(path.join(templates, "include", file), "utf8");
const labKube = include("lab-kube.sh");
const coredns = include("coredns.yaml");

const hostkeysFile = {
  path: "/opt/lab/bin/lab-hostkeys",
  permissions: "0755",
  owner: "root",
  content: include("lab-hostkeys.sh"),
};
const fleetEnv = (ip: string, role: string, endpoint: string) => ({
  path: "/etc/lab/fleet.env",
  permissions: "0644",
  owner: "root",
  content: `FLEET_PUBLIC_IP=${ip}\nFLEET_METADATA=role=${role}\nFLEET_ETCD_SERVERS=${endpoint}\nFLEET_ETCD_REQUEST_TIMEOUT=5\n`,
});
const hostkeysUnit = {
  name: "lab-hostkeys.service",
  command: "start",
  content: include("lab-hostkeys.service"),
};
const fleetUnits = [
  { name: "lab-fleet.socket", content: include("lab-fleet.socket") },
  { name: "lab-fleet.service", command: "start", content: include("lab-fleet.service") },
];

function etcdExpected(name: string, ip: string, keys: string[]) {
  return {
    hostname: name,
    ssh_authorized_keys: keys,
    write_files: [
      {
        path: "/etc/lab/etcd.env",
        permissions: "0644",
        owner: "root",
        content: [
          `ETCD_NAME=${name}`,
          "ETCD_DATA_DIR=/var/lib/lab-etcd",
          `ETCD_ADVERTISE_CLIENT_URLS=http://${ip}:2379`,
          "ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379,http://0.0.0.0:4001",
          `ETCD_INITIAL_ADVERTISE_PEER_URLS=http://${ip}:2380`,
          `ETCD_LISTEN_PEER_URLS=http://${ip}:2380`,
          `ETCD_INITIAL_CLUSTER=${name}=http://${ip}:2380`,
          "ETCD_INITIAL_CLUSTER_STATE=new",
          "",
        ].join("\n"),
      },
      fleetEnv(ip, "etcd", `http://${ip}:2379`),
      hostkeysFile,
    ],
    coreos: {
      update: { reboot_strategy: "off" },
      units: [
        hostkeysUnit,
        { name: "lab-etcd.service", command: "start", content: include("lab-etcd.service") },
        ...fleetUnits,
      ],
    },
  };
}

// What the kubelet reads (KubeletConfiguration v1beta1), with lab.yaml's default service range.
const KUBELET_DEFAULT = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS:
  - 10.10.0.10
clusterDomain: cluster.local
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: /var/lib/lab/kubernetes/kubelet-client-ca.crt
authorization:
  mode: Webhook
failSwapOn: false
resolvConf: /run/systemd/resolve/resolv.conf
`;

function kubernetesExpected(name: string, ip: string, endpoint: string, keys: string[]) {
  return {
    hostname: name,
    ssh_authorized_keys: keys,
    write_files: [
      { path: "/opt/lab/bin/lab-kube", permissions: "0755", owner: "root", content: labKube },
      { path: "/etc/lab/addons/coredns.yaml", permissions: "0644", owner: "root", content: coredns },
      { path: "/etc/lab/kubelet-config.yaml", permissions: "0644", owner: "root", content: KUBELET_DEFAULT },
      {
        path: "/etc/lab/cluster.env",
        permissions: "0644",
        owner: "root",
        content: `LAB_NAME=${name}\nLAB_IP=${ip}\nLAB_ETCD=${endpoint}\nLAB_MIRROR=http://172.16.11.1:8080\nLAB_DOMAIN=lab\n`,
      },
      fleetEnv(ip, "kubernetes", endpoint),
      hostkeysFile,
    ],
    coreos: {
      update: { reboot_strategy: "off" },
      units: [
        hostkeysUnit,
        ...fleetUnits,
        {
          name: "containerd.service",
          drop_ins: [{ name: "10-lab-flannel.conf", content: "[Unit]\nAfter=flanneld.service\n" }],
        },
      ],
    },
  };
}

async function rejection(promise: Promise<unknown>): Promise<LabError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  return err as LabError;
}

describe("role templates", () => {
  it("lists the shipped roles", async () => {
    expect(path.basename(templates)).toBe("cloud-config");
    expect(await listRoles(templates)).toEqual(["etcd", "kubernetes", "lb", "plain"]);
  });

  it("renders the etcd role with the real IP baked in", async () => {
    const text = await renderCloudConfig(templates, input());
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const { v12 } = parseBoth(text);
    expect(v12).toEqual(etcdExpected("etcd", "172.16.11.10", input().sshKeys));
  });

  it("renders the kubernetes role pointing fleet at the etcd endpoint", async () => {
    const text = await renderCloudConfig(
      templates,
      input({ name: "node1", role: "kubernetes", ip: "172.16.11.101" }),
    );
    const { v12 } = parseBoth(text);
    expect(v12).toEqual(
      kubernetesExpected("node1", "172.16.11.101", "http://172.16.11.10:2379", input().sshKeys),
    );
  });

  it("quotes every string value, so reboot_strategy stays the string off under YAML 1.1", async () => {
    for (const role of ["etcd", "kubernetes"]) {
      const text = await renderCloudConfig(templates, input({ role }));
      expect(text).toContain('reboot_strategy: "off"');
      const v11 = yaml.load(text, { schema: YAML11_SCHEMA }) as { coreos: { update: unknown } };
      expect(v11.coreos.update).toEqual({ reboot_strategy: "off" });
      for (const line of text.split("\n").slice(1)) {
        const value = /^\s*(?:- )?(?:[a-z0-9_]+:)? ?(.*)$/.exec(line)?.[1] ?? "";
        if (value !== "") expect(value.startsWith('"'), line).toBe(true);
      }
    }
  });

  it("never folds long lines (ssh keys)", async () => {
    const key = `ssh-rsa ${"A".repeat(3000)} me@host`;
    const text = await renderCloudConfig(templates, input({ sshKeys: [key] }));
    expect(text.split("\n")).toContain(`  - "${key}"`);
  });

  it("uses underscores in every key", async () => {
    for (const role of await listRoles(templates)) {
      const text = await renderCloudConfig(templates, input({ role }));
      const keys = [...text.matchAll(/^\s*(?:- )?([A-Za-z0-9_-]+):/gm)].map((m) => m[1]);
      expect(keys.filter((k) => k?.includes("-"))).toEqual([]);
    }
  });
});

describe("hostile values", () => {
  const hostileKeys = [
    "ssh-ed25519 AAAA me@host\n  evil: true",
    'ssh-ed25519 AAAA "quoted" me',
    "key: value",
    "# not a comment",
    "{}",
    "[a, b]",
    "&anchor *alias",
    "- item",
    "{{ip}}",
    "off",
    "ssh-ed25519 AAAA\r\n\ttab\u0000nul\u2028sep",
  ];

  it.each(["off", "yes", "no", "on", "y", "n", "true", "null", "~", "123", "0755", "1_000", "1:20", "1e3"])(
    "keeps the name %j a string in both YAML versions",
    async (name) => {
      const text = await renderCloudConfig(templates, input({ name }));
      const { v11 } = parseBoth(text);
      expect(v11).toEqual(etcdExpected(name, "172.16.11.10", input().sshKeys));
    },
  );

  it("cannot inject keys through ssh keys, names or endpoints", async () => {
    const name = 'evil\nhostname: "x"\n# {{ip}}';
    const endpoint = "http://172.16.11.10:2379\ncoreos: {}\n";
    for (const role of ["etcd", "kubernetes"]) {
      const text = await renderCloudConfig(
        templates,
        input({ role, name, etcdEndpoint: endpoint, sshKeys: hostileKeys }),
      );
      const { v11 } = parseBoth(text);
      const expected =
        role === "etcd"
          ? etcdExpected(name, "172.16.11.10", hostileKeys)
          : kubernetesExpected(name, "172.16.11.10", endpoint, hostileKeys);
      expect(v11).toEqual(expected);
      expect(Object.keys(v11)).toEqual(["hostname", "ssh_authorized_keys", "write_files", "coreos"]);
    }
  });

  it("does not expand placeholders found inside substituted values", async () => {
    const text = await renderCloudConfig(templates, input({ name: "{{ip}}{{ssh_authorized_keys}}" }));
    expect(parseBoth(text).v12.hostname).toBe("{{ip}}{{ssh_authorized_keys}}");
  });

  it("the YAML 1.1 check catches what js-yaml alone would miss", () => {
    const v11 = yaml.load("a: off\nb: 0755\n1_000: x\n", { schema: YAML11_SCHEMA }) as Record<
      string,
      unknown
    >;
    expect(v11.a).toBeInstanceOf(Yaml11Scalar);
    expect(v11.b).toBeInstanceOf(Yaml11Scalar);
    expect(findYaml11Mismatch({ a: "off" }, "a: off\n")).toBe("a");
    expect(findYaml11Mismatch({ "1_000": "x" }, yaml.dump({ "1_000": "x" }))).toBe("1_000");
    expect(findYaml11Mismatch({ n: 5 }, "n: 5\n")).toBe("n");
    expect(
      findYaml11Mismatch({ a: "off", n: 5, b: true, z: null }, 'a: "off"\n"n": 5\nb: true\nz: null\n'),
    ).toBe(undefined);
  });
});

describe("errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lab-cloudconfig-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function renderTemplate(text: string, extra?: Record<string, unknown>): Promise<LabError> {
    await writeFile(path.join(dir, "bad.yml"), text);
    const err = await rejection(renderCloudConfig(dir, input({ role: "bad", extra })));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(path.join(dir, "bad.yml"));
    return err;
  }

  it("names the unknown role and lists the available ones", async () => {
    const err = await rejection(renderCloudConfig(templates, input({ role: "master" })));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.message).toContain('"master"');
    expect(err.hint).toContain("etcd, kubernetes");
  });

  it.each(["../etcd", "etcd/../../x", "Etcd", "", "-etcd", "a".repeat(64), "etcd.yml"])(
    "rejects the role name %j before touching the filesystem",
    async (role) => {
      const err = await rejection(renderCloudConfig(templates, input({ role })));
      expect(err).toBeInstanceOf(UsageError);
    },
  );

  it.each([
    ["invalid YAML", "hostname: [\n", "not valid YAML"],
    ["a list", "- hostname\n", "(top level)"],
    ["an unknown top-level key", 'hostname: "a"\nbogus: 1\n', "bogus: unknown key"],
    ["an unknown coreos key", "coreos:\n  etcd: {}\n", "coreos.etcd: unknown key"],
    ["a unit without name", "coreos:\n  units:\n    - command: start\n", "coreos.units[0].name"],
    [
      "a bad unit command",
      "coreos:\n  units:\n    - name: a.service\n      command: go\n",
      "units[0].command",
    ],
    ["an unknown placeholder", 'hostname: "{{host}}"\n', "hostname: unknown placeholder {{host}}"],
    [
      "an unresolved placeholder",
      'coreos:\n  fleet:\n    public_ip: "{{ip"\n',
      "coreos.fleet.public_ip: unresolved",
    ],
    ["a placeholder in a key", '"{{name}}": "x"\n', "in values only"],
    ["an embedded list placeholder", 'hostname: "a{{ssh_authorized_keys}}"\n', "must be the whole value"],
    [
      "a hyphenated key",
      "coreos:\n  fleet:\n    public-ip: 1.2.3.4\n",
      "coreos.fleet.public-ip: keys are spelled",
    ],
    ["a boolean reboot_strategy", "coreos:\n  update:\n    reboot_strategy: false\n", "reboot_strategy"],
  ])("rejects a template with %s", async (_what, text, fragment) => {
    const err = await renderTemplate(text);
    expect(err.message).toContain(fragment);
  });

  it("rejects extra cloud-config with unknown keys, odd keys or non-data", async () => {
    const template = 'hostname: "{{name}}"\n';
    expect((await renderTemplate(template, { bogus: 1 })).message).toContain("bogus: unknown key");
    expect(
      (await renderTemplate(template, { write_files: [{ path: "/a", "1_000": "x" }] })).message,
    ).toContain("write_files[0].1_000: coreos-cloudinit (YAML 1.1) would misread");
    expect(
      (await renderTemplate(template, { hostname: new Date(0) as unknown as string })).message,
    ).toContain("hostname: not plain data");
  });
});

describe("templates in another directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "lab-cloudconfig-"));
    await writeFile(
      path.join(dir, "web.yml"),
      'ssh_authorized_keys:\n  - "fixed-key"\n  - "{{ssh_authorized_keys}}"\n',
    );
    await writeFile(path.join(dir, "Upper.yml"), "{}\n");
    await writeFile(path.join(dir, "notes.txt"), "\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("lists only valid role templates, and none for a missing directory", async () => {
    expect(await listRoles(dir)).toEqual(["web"]);
    expect(await listRoles(path.join(dir, "missing"))).toEqual([]);
  });

  it("splices the key list into a sequence", async () => {
    const text = await renderCloudConfig(dir, input({ role: "web", sshKeys: ["k1", "k2"] }));
    expect(parseBoth(text).v12).toEqual({ ssh_authorized_keys: ["fixed-key", "k1", "k2"] });
  });
});

const EXTRA_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6szBZu525mk0Rb0YGl1ZDdXq38QbCkTwqYOt2fL1MX extra";

describe("extra cloud-config", () => {
  it("takes host names, file paths, user names and keys from the user only on one line, in their syntax", async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ hostname: "evil\nhost" }, /hostname: not an RFC 1123 host name/],
      [{ hostname: "evil\u2028host" }, /hostname: not an RFC 1123 host name/],
      [{ hostname: "-x" }, /hostname: not an RFC 1123 host name/],
      [{ ssh_authorized_keys: [`${EXTRA_KEY}\nssh-rsa AAAA`] }, /not one OpenSSH public key/],
      [{ ssh_authorized_keys: ["ssh-ed25519 AAAA"] }, /not one OpenSSH public key/],
      [
        { write_files: [{ path: "/etc/x\u2029y", content: "" }] },
        /write_files\[0\]\.path: not an absolute path/,
      ],
      [{ users: [{ name: "root\n" }] }, /users\[0\]\.name: not a user name/],
    ];
    for (const [extra, message] of bad)
      await expect(
        renderCloudConfig(templates, input({ role: "etcd", extra })),
        JSON.stringify(extra),
      ).rejects.toThrow(message);
    await expect(
      renderCloudConfig(templates, input({ role: "etcd", extra: { hostname: "node-1.lab" } })),
    ).resolves.toContain("node-1.lab");
  });

  it("deep-merges mappings, appends arrays and leaves its values alone", async () => {
    const extra = {
      ssh_authorized_keys: [EXTRA_KEY],
      coreos: {
        locksmith: { group: "lab" },
        units: [{ name: "docker.service", command: "start" }],
      },
      write_files: [{ path: "/etc/motd", content: "hello {{ip}}\nno: key\n", permissions: "0644" }],
    };
    const before = structuredClone(extra);
    const text = await renderCloudConfig(templates, input({ role: "kubernetes", extra }));
    expect(extra).toEqual(before);
    const { v11 } = parseBoth(text);
    const base = kubernetesExpected("etcd", "172.16.11.10", "http://172.16.11.10:2379", input().sshKeys);
    expect(v11).toEqual({
      hostname: "etcd",
      ssh_authorized_keys: [...input().sshKeys, EXTRA_KEY],
      coreos: {
        update: { reboot_strategy: "off" },
        locksmith: { group: "lab" },
        units: [...base.coreos.units, { name: "docker.service", command: "start" }],
      },
      write_files: [...base.write_files, ...extra.write_files],
    });
  });
});
