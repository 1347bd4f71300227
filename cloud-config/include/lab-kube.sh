#!/bin/bash
# lab-kube: what the Kubernetes fleet units in units/ run before (and as) their programs on a lab
# VM of role kubernetes. Written to /opt/lab/bin/lab-kube by cloud-config/kubernetes.yml.
#
#   lab-kube env                      settings -> /run/lab/kubernetes.env (units read it)
#   lab-kube fetch ARTIFACT NAME      mirror artifact -> /opt/lab/kubernetes/bin/NAME, sha256 checked
#   lab-kube fetch-tgz ARTIFACT DIR   mirror tarball, sha256 checked, unpacked into DIR
#   lab-kube apiserver-init           service-account key pair and the cluster token (kept)
#   lab-kube apiserver-publish        apiserver URL, token and certificate -> etcd, for the nodes
#   lab-kube kubeconfig COMPONENT     /var/lib/lab/kubernetes/COMPONENT.kubeconfig from etcd
#   lab-kube kubelet-config           kubelet's configuration file
#   lab-kube cni                      CNI config for this node's flannel subnet
#   lab-kube run NAME ARGS...         exec the fetched program
#
# Inputs: /etc/lab/cluster.env (written by the role cloud-config: LAB_NAME, LAB_IP, LAB_ETCD,
# LAB_MIRROR, LAB_DOMAIN) and, from 'lab up', /etc/lab/kubernetes.env (POD_NETWORK, SERVICE_RANGE,
# NODE_PORTS, CLUSTER_DNS) with the lab's network plan. Nothing is fetched from outside the lab:
# binaries come from the lab mirror (http://GATEWAY:8080) and are held to the digest the mirror
# recorded when 'lab mirror add' checked them against the published one.
set -euo pipefail

BIN=/opt/lab/kubernetes/bin
STATE=/var/lib/lab/kubernetes
RUN_ENV=/run/lab/kubernetes.env
APISERVER_KEY=/lab/kubernetes/apiserver

# The one scratch directory of this run, removed however the script ends.
SCRATCH=""
trap 'if [ -n "$SCRATCH" ]; then rm -rf "$SCRATCH"; fi' EXIT

die() {
  echo "lab-kube: $*" >&2
  exit 1
}

# Reads KEY=VALUE lines of the known keys; never sources the file, and a value that is not plain
# (spaces, quotes, '$', newlines) is an error, so nothing in it can become a command or a flag.
read_env() {
  local file=$1 line key value
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case $line in '' | '#'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    [[ $line == *=* && $value =~ ^[A-Za-z0-9._:/,-]*$ ]] || die "$file: unexpected line: $line"
    case $key in
    LAB_NAME | LAB_IP | LAB_ETCD | LAB_MIRROR | LAB_DOMAIN | POD_NETWORK | SERVICE_RANGE | NODE_PORTS | CLUSTER_DNS | CLUSTER_DOMAIN)
      printf -v "$key" '%s' "$value"
      ;;
    *) die "$file: unknown key $key" ;;
    esac
  done <"$file"
}

load() {
  [ -r /etc/lab/cluster.env ] || die "/etc/lab/cluster.env is missing: is this a lab VM of role kubernetes?"
  read_env /etc/lab/cluster.env
  read_env /etc/lab/kubernetes.env
  : "${LAB_NAME:?} ${LAB_IP:?} ${LAB_ETCD:?} ${LAB_MIRROR:?}"
  # Defaults are lab.yaml's: flannel over 10.0.0.0/16, services in 10.10.0.0/22.
  POD_NETWORK=${POD_NETWORK:-10.0.0.0/16}
  SERVICE_RANGE=${SERVICE_RANGE:-10.10.0.0/22}
  NODE_PORTS=${NODE_PORTS:-30000-32767}
  CLUSTER_DNS=${CLUSTER_DNS:-$(nth_address "$SERVICE_RANGE" 10)}
  CLUSTER_DOMAIN=${CLUSTER_DOMAIN:-cluster.local}
}

# nth_address 10.10.0.0/22 10 -> 10.10.0.10
nth_address() {
  local net=${1%/*} n=$2 a b c d
  IFS=. read -r a b c d <<<"$net"
  local v=$(((a << 24 | b << 16 | c << 8 | d) + n))
  echo "$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))"
}

# A value that goes into an environment file or a flag: no spaces, quotes or newlines.
plain() {
  [[ $2 =~ ^[A-Za-z0-9._:/,-]*$ ]] || die "$1 has an unexpected value: $2"
  echo "$1=$2"
}

cmd_env() {
  load
  mkdir -p "${RUN_ENV%/*}"
  {
    plain LAB_NAME "$LAB_NAME"
    plain LAB_IP "$LAB_IP"
    plain LAB_ETCD "$LAB_ETCD"
    plain LAB_MIRROR "$LAB_MIRROR"
    plain POD_NETWORK "$POD_NETWORK"
    plain SERVICE_RANGE "$SERVICE_RANGE"
    plain NODE_PORTS "$NODE_PORTS"
    plain CLUSTER_DNS "$CLUSTER_DNS"
    plain CLUSTER_DOMAIN "$CLUSTER_DOMAIN"
  } >"$RUN_ENV.tmp"
  mv -f "$RUN_ENV.tmp" "$RUN_ENV"
}

# Downloads ARTIFACT and its digest line from the mirror into DIR/ARTIFACT and checks it.
download() {
  local artifact=$1 dir=$2
  [[ $artifact =~ ^[A-Za-z0-9_-][A-Za-z0-9._-]*$ ]] || die "invalid artifact name: $artifact"
  local get=(curl --fail --silent --show-error --location --retry 10 --retry-connrefused --retry-delay 3)
  "${get[@]}" --output "$dir/$artifact.sha256" "$LAB_MIRROR/$artifact.sha256" ||
    die "the lab mirror ($LAB_MIRROR) has no $artifact: on the host run 'lab mirror add --for kubernetes'"
  "${get[@]}" --output "$dir/$artifact" "$LAB_MIRROR/$artifact"
  (cd "$dir" && sha256sum --check --strict --quiet "$artifact.sha256") ||
    die "$artifact from $LAB_MIRROR does not match its sha256"
}

# A program already fetched is kept while its recorded digest still matches: no mirror needed.
installed() {
  local artifact=$1 target=$2
  [ -x "$target" ] && [ -r "$target.artifact" ] || return 1
  local want digest
  read -r want digest <"$target.artifact" || return 1
  [ "$want" = "$artifact" ] && [ "$(sha256sum <"$target" | cut -d' ' -f1)" = "$digest" ]
}

cmd_fetch() {
  [ $# -eq 2 ] || die "usage: lab-kube fetch ARTIFACT NAME"
  load
  local artifact=$1 target=$BIN/$2
  installed "$artifact" "$target" && return 0
  mkdir -p "$BIN"
  SCRATCH=$(mktemp -d "$BIN/.fetch.XXXXXX")
  download "$artifact" "$SCRATCH"
  chmod 0755 "$SCRATCH/$artifact"
  echo "$artifact $(cut -d' ' -f1 <"$SCRATCH/$artifact.sha256")" >"$target.artifact"
  mv -f "$SCRATCH/$artifact" "$target"
  echo "lab-kube: $2 installed from $artifact"
}

cmd_fetch_tgz() {
  [ $# -eq 2 ] || die "usage: lab-kube fetch-tgz ARTIFACT DIR"
  load
  local artifact=$1 dir=$2 stamp=$2/.lab-artifact
  [ -r "$stamp" ] && [ "$(cat "$stamp")" = "$artifact" ] && return 0
  mkdir -p "$dir"
  SCRATCH=$(mktemp -d)
  download "$artifact" "$SCRATCH"
  tar -xzf "$SCRATCH/$artifact" -C "$dir" --no-same-owner
  echo "$artifact" >"$stamp"
  echo "lab-kube: $artifact unpacked into $dir"
}

cmd_apiserver_init() {
  mkdir -p "$STATE/pki"
  chmod 0700 "$STATE"
  if [ ! -s "$STATE/sa.key" ]; then
    openssl genrsa -out "$STATE/sa.key.tmp" 2048 2>/dev/null
    mv -f "$STATE/sa.key.tmp" "$STATE/sa.key"
  fi
  openssl rsa -in "$STATE/sa.key" -pubout -out "$STATE/sa.pub" 2>/dev/null
  if [ ! -s "$STATE/token" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/token.tmp"
    mv -f "$STATE/token.tmp" "$STATE/token"
  fi
  # One identity for the lab's components and its admin: a learning lab, not a hardened cluster.
  echo "$(cat "$STATE/token"),lab-admin,lab-admin,\"system:masters\"" >"$STATE/tokens.csv"
  chmod 0600 "$STATE/sa.key" "$STATE/token" "$STATE/tokens.csv"
}

etcd_key() {
  echo "$LAB_ETCD/v2/keys$APISERVER_KEY"
}

cmd_apiserver_publish() {
  load
  local cert=$STATE/pki/apiserver.crt
  for _ in $(seq 1 120); do
    [ -s "$cert" ] && break
    sleep 1
  done
  [ -s "$cert" ] || die "kube-apiserver wrote no certificate to $cert"
  # Written to /var/lib so kubectl on this machine works: KUBECONFIG=$STATE/admin.kubeconfig
  local value
  value="https://$LAB_IP:6443 $(cat "$STATE/token") $(base64 -w0 <"$cert")"
  curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 2 \
    -X PUT "$(etcd_key)" --data-urlencode "value=$value" >/dev/null
  echo "lab-kube: apiserver https://$LAB_IP:6443 published in etcd at $APISERVER_KEY"
}

cmd_kubeconfig() {
  [ $# -eq 1 ] || die "usage: lab-kube kubeconfig COMPONENT"
  [[ $1 =~ ^[a-z-]+$ ]] || die "invalid component: $1"
  load
  local body="" value=""
  # Wait for the apiserver (wherever fleet put it) to publish itself.
  for _ in $(seq 1 300); do
    body=$(curl --silent --fail "$(etcd_key)" 2>/dev/null || true)
    value=$(sed -n 's/.*"value":"\([^"]*\)".*/\1/p' <<<"$body")
    [ -n "$value" ] && break
    sleep 2
  done
  [ -n "$value" ] || die "no apiserver in etcd at $APISERVER_KEY: is kube-apiserver.service running?"
  local server token ca
  read -r server token ca <<<"$value"
  [[ $server =~ ^https://[0-9.]+:[0-9]+$ && $token =~ ^[0-9a-f]+$ && $ca =~ ^[A-Za-z0-9+/=]+$ ]] ||
    die "unexpected apiserver record in etcd at $APISERVER_KEY"
  mkdir -p "$STATE"
  chmod 0700 "$STATE"
  umask 077
  cat >"$STATE/$1.kubeconfig.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster:
      server: $server
      certificate-authority-data: $ca
users:
  - name: lab-admin
    user:
      token: $token
contexts:
  - name: lab
    context:
      cluster: lab
      user: lab-admin
current-context: lab
KUBECONFIG
  mv -f "$STATE/$1.kubeconfig.tmp" "$STATE/$1.kubeconfig"
}

cmd_kubelet_config() {
  load
  mkdir -p "$STATE"
  cat >"$STATE/kubelet-config.yaml.tmp" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
clusterDNS:
  - $CLUSTER_DNS
clusterDomain: $CLUSTER_DOMAIN
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
authorization:
  mode: Webhook
failSwapOn: false
resolvConf: /run/systemd/resolve/resolv.conf
KUBELET
  mv -f "$STATE/kubelet-config.yaml.tmp" "$STATE/kubelet-config.yaml"
}

# The node's pod bridge takes flannel's subnet for this machine (/run/flannel/subnet.env).
cmd_cni() {
  local env=/run/flannel/subnet.env
  for _ in $(seq 1 120); do
    [ -s "$env" ] && break
    sleep 1
  done
  [ -s "$env" ] || die "$env is missing: is flanneld.service running?"
  # shellcheck disable=SC1090
  . "$env"
  mkdir -p /etc/cni/net.d
  cat >/etc/cni/net.d/10-lab.conflist.tmp <<CNI
{
  "cniVersion": "1.0.0",
  "name": "lab",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isDefaultGateway": true,
      "hairpinMode": true,
      "ipMasq": false,
      "mtu": ${FLANNEL_MTU:-1450},
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "${FLANNEL_SUBNET%/*}/${FLANNEL_SUBNET#*/}" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
  mv -f /etc/cni/net.d/10-lab.conflist.tmp /etc/cni/net.d/10-lab.conflist
}

cmd_run() {
  [ $# -ge 1 ] || die "usage: lab-kube run NAME ARGS..."
  local name=$1
  shift
  [ -x "$BIN/$name" ] || die "$BIN/$name is missing: the unit's ExecStartPre fetches it"
  exec "$BIN/$name" "$@"
}

main() {
  local cmd=${1:-}
  [ $# -gt 0 ] && shift
  case $cmd in
  env) cmd_env "$@" ;;
  fetch) cmd_fetch "$@" ;;
  fetch-tgz) cmd_fetch_tgz "$@" ;;
  apiserver-init) cmd_apiserver_init "$@" ;;
  apiserver-publish) cmd_apiserver_publish "$@" ;;
  kubeconfig) cmd_kubeconfig "$@" ;;
  kubelet-config) cmd_kubelet_config "$@" ;;
  cni) cmd_cni "$@" ;;
  run) cmd_run "$@" ;;
  *) die "usage: lab-kube env|fetch|fetch-tgz|apiserver-init|apiserver-publish|kubeconfig|kubelet-config|cni|run" ;;
  esac
}

main "$@"
