#!/bin/bash
# lab-kube: what the Kubernetes fleet units in units/ run before (and as) their programs on a lab
# VM of role kubernetes. Written to /opt/lab/bin/lab-kube by cloud-config/kubernetes.yml.
#
#   lab-kube env                      settings -> /run/lab/kubernetes.env (units read it)
#   lab-kube fetch ARTIFACT NAME      mirror artifact -> /opt/lab/kubernetes/bin/NAME, sha256 checked
#   lab-kube fetch-tgz ARTIFACT DIR   mirror tarball, sha256 checked, unpacked into DIR
#   lab-kube apiserver-init           service-account key pair and the cluster token (kept); with
#                                     API_VIP, shared by every API server through etcd, and a
#                                     serving certificate from the lab CA naming the VIP
#   lab-kube apiserver-publish [--every SECONDS]
#                                     apiserver URL, token, certificate and kubelet client CA -> etcd
#                                     with a TTL, for the nodes (once, or again every SECONDS)
#   lab-kube kubeconfig COMPONENT     /var/lib/lab/kubernetes/COMPONENT.kubeconfig from etcd
#   lab-kube kubelet-config           installs kubelet's configuration file (built by lab)
#   lab-kube scheduler-config         kube-scheduler's configuration file (KubeSchedulerConfiguration)
#   lab-kube addons                   applies the cluster DNS (CoreDNS) once the API server answers
#   lab-kube cni                      CNI config for this node's flannel subnet
#   lab-kube run NAME ARGS...         exec the fetched program
#
# Inputs: /etc/lab/cluster.env (written by the role cloud-config: LAB_NAME, LAB_IP, LAB_ETCD,
# LAB_MIRROR, LAB_DOMAIN) and, from 'lab up', /etc/lab/kubernetes.env (POD_NETWORK, SERVICE_RANGE,
# NODE_PORTS, CLUSTER_DNS, and API_VIP when the lab's API servers sit behind a virtual IP) with
# the lab's network plan. Nothing is fetched from outside the lab:
# binaries come from the lab mirror (http://GATEWAY:8080) and are held to the digest the mirror
# recorded when 'lab mirror add' checked them against the published one.
set -euo pipefail

BIN=/opt/lab/kubernetes/bin
STATE=${LAB_KUBE_STATE:-/var/lib/lab/kubernetes} # moved only by tests
RUN_ENV=/run/lab/kubernetes.env
APISERVER_KEY=/lab/kubernetes/apiserver
# With API_VIP: what every API server shares (token, CA, service-account key), created once.
PKI_KEY=/lab/kubernetes/pki
# The record lives RECORD_TTL seconds unless re-published (kube-apiserver-record.service does, every
# 20 seconds): when the API server stops or moves, nodes stop trusting the old one.
RECORD_TTL=60
ETC=${LAB_KUBE_ETC:-/etc/lab} # moved only by tests
ADDONS=$ETC/addons

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
    LAB_NAME | LAB_IP | LAB_ETCD | LAB_MIRROR | LAB_DOMAIN | POD_NETWORK | SERVICE_RANGE | NODE_PORTS | CLUSTER_DNS | CLUSTER_DOMAIN | API_VIP)
      printf -v "$key" '%s' "$value"
      ;;
    *) die "$file: unknown key $key" ;;
    esac
  done <"$file"
}

load() {
  [ -r "$ETC/cluster.env" ] || die "$ETC/cluster.env is missing: is this a lab VM of role kubernetes?"
  read_env "$ETC/cluster.env"
  read_env "$ETC/kubernetes.env"
  : "${LAB_NAME:?} ${LAB_IP:?} ${LAB_ETCD:?} ${LAB_MIRROR:?}"
  # Defaults are lab.yaml's: flannel over 10.0.0.0/16, services in 10.10.0.0/22.
  POD_NETWORK=${POD_NETWORK:-10.0.0.0/16}
  SERVICE_RANGE=${SERVICE_RANGE:-10.10.0.0/22}
  NODE_PORTS=${NODE_PORTS:-30000-32767}
  CLUSTER_DNS=${CLUSTER_DNS:-$(nth_address "$SERVICE_RANGE" 10)}
  CLUSTER_DOMAIN=${CLUSTER_DOMAIN:-cluster.local}
  API_VIP=${API_VIP:-}
  [ -z "$API_VIP" ] || [[ $API_VIP =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "API_VIP is not an IPv4 address: $API_VIP"
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
    if [ -n "$API_VIP" ]; then plain API_VIP "$API_VIP"; fi
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

# A certificate for NAME signed by the lab's CA: NAME.key, NAME.crt in $STATE/pki.
issue_cert() {
  local name=$1 subject=$2 pki=$STATE/pki
  [ -s "$pki/$name.crt" ] && [ -s "$pki/$name.key" ] && return 0
  openssl req -new -newkey rsa:2048 -nodes -subj "$subject" -keyout "$pki/$name.key.tmp" \
    -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -out "$pki/$name.crt.tmp" 2>/dev/null
  rm -f "$pki/$name.csr"
  mv -f "$pki/$name.key.tmp" "$pki/$name.key"
  mv -f "$pki/$name.crt.tmp" "$pki/$name.crt"
}

cmd_apiserver_init() {
  mkdir -p "$STATE/pki"
  chmod 0700 "$STATE"
  # API_VIP comes from lab up's network plan; only then is a cluster file needed here.
  read_env "$ETC/kubernetes.env"
  if [ -n "${API_VIP:-}" ]; then load; fi
  if [ ! -s "$STATE/sa.key" ]; then
    openssl genrsa -out "$STATE/sa.key.tmp" 2048 2>/dev/null
    mv -f "$STATE/sa.key.tmp" "$STATE/sa.key"
  fi
  if [ ! -s "$STATE/token" ]; then
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE/token.tmp"
    mv -f "$STATE/token.tmp" "$STATE/token"
  fi
  # The kubelets refuse anonymous requests: the API server shows them a client certificate
  # (--kubelet-client-certificate) from the lab's CA, in group system:masters so the kubelet's
  # webhook authorization lets logs, exec and port-forward through. The CA goes to the nodes in
  # the API server's record (clientCAFile in their kubelet configuration).
  if [ ! -s "$STATE/pki/ca.crt" ] || [ ! -s "$STATE/pki/ca.key" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lab-kubernetes-ca" \
      -keyout "$STATE/pki/ca.key.tmp" -out "$STATE/pki/ca.crt.tmp" 2>/dev/null
    mv -f "$STATE/pki/ca.key.tmp" "$STATE/pki/ca.key"
    mv -f "$STATE/pki/ca.crt.tmp" "$STATE/pki/ca.crt"
  fi
  if [ -n "${API_VIP:-}" ]; then share_pki; fi
  openssl rsa -in "$STATE/sa.key" -pubout -out "$STATE/sa.pub" 2>/dev/null
  # One identity for the lab's components and its admin: a learning lab, not a hardened cluster.
  echo "$(cat "$STATE/token"),lab-admin,lab-admin,\"system:masters\"" >"$STATE/tokens.csv"
  # Behind a VIP the CA may just have been replaced by the shared one: reissue what it did not sign.
  if [ -n "${API_VIP:-}" ] && ! signed_by_ca kubelet-client; then rm -f "$STATE/pki/kubelet-client.crt"; fi
  issue_cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  if [ -n "${API_VIP:-}" ]; then issue_serving_cert; fi
  chmod 0600 "$STATE/sa.key" "$STATE/token" "$STATE/tokens.csv" "$STATE/pki/ca.key" "$STATE/pki/kubelet-client.key"
}

# Whether $STATE/pki/NAME.crt exists and the lab CA signed it.
signed_by_ca() {
  [ -s "$STATE/pki/$1.crt" ] && openssl verify -CAfile "$STATE/pki/ca.crt" "$STATE/pki/$1.crt" >/dev/null 2>&1
}

# Several API servers behind API_VIP answer as one: the same token, service-account key (tokens the
# controller manager signs on one machine must verify on every API server) and CA (one
# certificate-authority-data in every kubeconfig). The first API server to get here stores its own
# in etcd, created only if absent (v2 prevExist=false: etcd answers 412 to every later one); every
# API server then takes what etcd holds, so two starting at once still agree.
share_pki() {
  local url value code body
  url=$(etcd_url "$PKI_KEY")
  value="$(cat "$STATE/token") $(base64 -w0 <"$STATE/pki/ca.crt") $(base64 -w0 <"$STATE/pki/ca.key") $(base64 -w0 <"$STATE/sa.key")"
  SCRATCH=$(mktemp -d)
  # Up to 60 tries of at most 12 s: inside the unit's TimeoutStartSec (900 s) with its other waits.
  for _ in $(seq 1 60); do
    code=$(curl --silent --max-time 10 --output "$SCRATCH/put" --write-out '%{http_code}' \
      -X PUT "$url?prevExist=false" --data-urlencode "value=$value" || true)
    case $code in
    201) return 0 ;;
    412) break ;;
    esac
    sleep 2
    url=$(etcd_url "$PKI_KEY")
  done
  [ "$code" = 412 ] || die "cannot store the API servers' shared keys in etcd at $PKI_KEY (HTTP $code)"
  body=$(curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 2 "$url")
  value=$(sed -n 's/.*"value":"\([^"]*\)".*/\1/p' <<<"$body")
  local token ca cakey sakey
  read -r token ca cakey sakey <<<"$value"
  [[ $token =~ ^[0-9a-f]+$ && $ca =~ ^[A-Za-z0-9+/=]+$ && $cakey =~ ^[A-Za-z0-9+/=]+$ && $sakey =~ ^[A-Za-z0-9+/=]+$ ]] ||
    die "unexpected shared keys in etcd at $PKI_KEY"
  printf '%s' "$token" >"$STATE/token.tmp"
  base64 -d <<<"$ca" >"$STATE/pki/ca.crt.tmp"
  (umask 077 && base64 -d <<<"$cakey" >"$STATE/pki/ca.key.tmp" && base64 -d <<<"$sakey" >"$STATE/sa.key.tmp")
  mv -f "$STATE/token.tmp" "$STATE/token"
  mv -f "$STATE/pki/ca.crt.tmp" "$STATE/pki/ca.crt"
  mv -f "$STATE/pki/ca.key.tmp" "$STATE/pki/ca.key"
  mv -f "$STATE/sa.key.tmp" "$STATE/sa.key"
  echo "lab-kube: took the API servers' shared keys from etcd ($PKI_KEY)"
}

# With API_VIP, the serving certificate (--cert-dir's apiserver.crt, which kube-apiserver uses
# instead of making a self-signed one: staging/src/k8s.io/apiserver/pkg/server/options/serving.go,
# MaybeDefaultWithSelfSignedCerts) comes from the shared CA and names the VIP, this machine and the
# in-cluster names (the first service address, kubernetes.default.svc...), so a client holding the
# CA trusts whichever API server haproxy picks. Reissued when the CA did not sign it.
issue_serving_cert() {
  local pki=$STATE/pki
  signed_by_ca apiserver && openssl x509 -in "$pki/apiserver.crt" -noout -ext subjectAltName 2>/dev/null |
    grep -qE "IP Address:${API_VIP//./\\.}(,|\$)" && return 0
  local sans
  sans="IP:$API_VIP,IP:$LAB_IP,IP:$(nth_address "$SERVICE_RANGE" 1),IP:127.0.0.1"
  sans+=",DNS:$LAB_NAME,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  sans+=",DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
  [ -n "$SCRATCH" ] || SCRATCH=$(mktemp -d)
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
    "$sans" >"$SCRATCH/apiserver.ext"
  openssl req -new -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$pki/apiserver.key.tmp" \
    -out "$SCRATCH/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$SCRATCH/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -extfile "$SCRATCH/apiserver.ext" -out "$pki/apiserver.crt.tmp" 2>/dev/null
  chmod 0600 "$pki/apiserver.key.tmp"
  mv -f "$pki/apiserver.key.tmp" "$pki/apiserver.key"
  mv -f "$pki/apiserver.crt.tmp" "$pki/apiserver.crt"
  echo "lab-kube: serving certificate for $API_VIP and $LAB_IP from the lab CA"
}

# LAB_ETCD lists every etcd member (comma-separated): the first that says it is healthy answers.
etcd_url() {
  local key=$1 first="" url
  for url in $(echo "$LAB_ETCD" | tr ',' ' '); do
    [ -n "$first" ] || first=$url
    if curl --silent --fail --max-time 3 "$url/health" >/dev/null 2>&1; then
      echo "$url/v2/keys$key"
      return
    fi
  done
  echo "$first/v2/keys$key"
}

etcd_key() { etcd_url "$APISERVER_KEY"; }

cmd_apiserver_publish() {
  local every=0
  if [ $# -gt 0 ]; then
    # shellcheck disable=SC2015 # die exits
    [ $# -eq 2 ] && [ "$1" = --every ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "usage: lab-kube apiserver-publish [--every SECONDS]"
    every=$2
  fi
  load
  local cert=$STATE/pki/apiserver.crt
  for _ in $(seq 1 120); do
    [ -s "$cert" ] && break
    sleep 1
  done
  [ -s "$cert" ] || die "kube-apiserver wrote no certificate to $cert"
  local value server=https://$LAB_IP:6443
  # Behind a VIP every API server publishes the same record: the VIP, and the CA that signed each
  # one's certificate in place of a self-signed certificate.
  if [ -n "$API_VIP" ]; then
    server=https://$API_VIP:6443
    cert=$STATE/pki/ca.crt
  fi
  value="$server $(cat "$STATE/token") $(base64 -w0 <"$cert") $(base64 -w0 <"$STATE/pki/ca.crt")"
  for (( ; ; )); do
    curl --fail --silent --show-error --retry 10 --retry-connrefused --retry-delay 2 \
      -X PUT "$(etcd_key)" --data-urlencode "value=$value" --data-urlencode "ttl=$RECORD_TTL" >/dev/null
    [ "$every" -gt 0 ] || break
    sleep "$every"
  done
  echo "lab-kube: apiserver $server published in etcd at $APISERVER_KEY (ttl $RECORD_TTL s)"
}

# The API server's record from etcd, once it is there and fresh: a record without a TTL was not
# written by apiserver-publish (which always sets one) and is refused.
read_record() {
  local body="" value=""
  for _ in $(seq 1 300); do
    body=$(curl --silent --fail "$(etcd_key)" 2>/dev/null || true)
    value=$(sed -n 's/.*"value":"\([^"]*\)".*/\1/p' <<<"$body")
    [ -n "$value" ] && break
    sleep 2
  done
  [ -n "$value" ] || die "no apiserver in etcd at $APISERVER_KEY: is kube-apiserver.service running?"
  # shellcheck disable=SC2015 # die exits
  [[ $body =~ \"ttl\":([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -le "$RECORD_TTL" ] ||
    die "the apiserver record in etcd at $APISERVER_KEY has no TTL of at most $RECORD_TTL s: not written by lab-kube apiserver-publish"
  echo "$value"
}

cmd_kubeconfig() {
  [ $# -eq 1 ] || die "usage: lab-kube kubeconfig COMPONENT"
  [[ $1 =~ ^[a-z-]+$ ]] || die "invalid component: $1"
  load
  local value server token ca clientca
  # Waits for the apiserver (wherever fleet put it) to publish itself.
  value=$(read_record)
  read -r server token ca clientca <<<"$value"
  [[ $server =~ ^https://[0-9.]+:[0-9]+$ && $token =~ ^[0-9a-f]+$ && $ca =~ ^[A-Za-z0-9+/=]+$ && $clientca =~ ^[A-Za-z0-9+/=]+$ ]] ||
    die "unexpected apiserver record in etcd at $APISERVER_KEY"
  mkdir -p "$STATE"
  base64 -d <<<"$clientca" >"$STATE/kubelet-client-ca.crt.tmp"
  mv -f "$STATE/kubelet-client-ca.crt.tmp" "$STATE/kubelet-client-ca.crt"
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

# The kubelet's configuration is built by lab on the host (src/kube/kubelet-config.ts), where
# the cluster's values are known, and written by the role cloud-config; installed where the unit
# reads it, next to the client CA it names.
cmd_kubelet_config() {
  [ -r "$ETC/kubelet-config.yaml" ] || die "$ETC/kubelet-config.yaml is missing: was this machine made by an older lab? recreate it"
  mkdir -p "$STATE"
  install -m 0644 "$ETC/kubelet-config.yaml" "$STATE/kubelet-config.yaml.tmp"
  mv -f "$STATE/kubelet-config.yaml.tmp" "$STATE/kubelet-config.yaml"
}

# kube-scheduler reads its kubeconfig and leader election from a KubeSchedulerConfiguration
# (kubescheduler.config.k8s.io/v1: kubernetes/kubernetes
# staging/src/k8s.io/kube-scheduler/config/v1/types.go); --kubeconfig is deprecated.
cmd_scheduler_config() {
  mkdir -p "$STATE"
  cat >"$STATE/scheduler-config.yaml.tmp" <<SCHEDULER
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: $STATE/scheduler.kubeconfig
leaderElection:
  leaderElect: true
SCHEDULER
  mv -f "$STATE/scheduler-config.yaml.tmp" "$STATE/scheduler-config.yaml"
}

# The cluster's add-ons (CoreDNS at CLUSTER_DNS), from $ADDONS (written by the kubernetes
# cloud-config), applied with kubectl on the API server's machine once it answers.
cmd_addons() {
  load
  local kubectl=(env KUBECONFIG="$STATE/admin.kubeconfig" "$BIN/kubectl")
  for _ in $(seq 1 60); do
    "${kubectl[@]}" get --raw /readyz >/dev/null 2>&1 && break
    sleep 2
  done
  sed -e "s|__CLUSTER_DNS__|$CLUSTER_DNS|g" -e "s|__CLUSTER_DOMAIN__|$CLUSTER_DOMAIN|g" "$ADDONS/coredns.yaml" |
    "${kubectl[@]}" apply -f -
}

# Reads flannel's subnet file (flannel-io/flannel pkg/subnet: FLANNEL_NETWORK, FLANNEL_SUBNET with
# the node's first address, e.g. 10.0.5.1/24, FLANNEL_MTU, FLANNEL_IPMASQ; IPv6 keys ignored).
# Parsed, never sourced: the file is data.
read_subnet_env() {
  local file=$1 line key value
  while IFS= read -r line || [ -n "$line" ]; do
    [ -n "$line" ] || continue
    key=${line%%=*}
    value=${line#*=}
    [[ $line == *=* && $value =~ ^[A-Za-z0-9.:/]*$ ]] || die "$file: unexpected line: $line"
    case $key in
    FLANNEL_NETWORK | FLANNEL_SUBNET | FLANNEL_MTU | FLANNEL_IPMASQ) printf -v "$key" '%s' "$value" ;;
    esac
  done <"$file"
  local cidr='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
  [[ ${FLANNEL_NETWORK:-} =~ $cidr ]] || die "$file: FLANNEL_NETWORK is missing or not a CIDR"
  [[ ${FLANNEL_SUBNET:-} =~ $cidr ]] || die "$file: FLANNEL_SUBNET is missing or not a CIDR"
  [[ ${FLANNEL_MTU:-} =~ ^[0-9]+$ ]] || die "$file: FLANNEL_MTU is missing or not a number"
  [[ ${FLANNEL_IPMASQ:-} =~ ^(true|false)$ ]] || die "$file: FLANNEL_IPMASQ is missing or not true/false"
}

# network_of 10.0.5.1/24 -> 10.0.5.0/24 (the address with its host bits cleared)
network_of() {
  local addr=${1%/*} len=${1#*/} a b c d
  IFS=. read -r a b c d <<<"$addr"
  local v=$((a << 24 | b << 16 | c << 8 | d)) mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
  v=$((v & mask))
  echo "$((v >> 24 & 255)).$((v >> 16 & 255)).$((v >> 8 & 255)).$((v & 255))/$len"
}

# The node's pod bridge takes flannel's subnet for this machine, as flannel's own CNI plugin would
# hand it to the bridge plugin (flannel-io/cni-plugin flannel_linux.go): host-local gets the subnet's
# network address (it refuses one with host bits set: containernetworking/plugins
# plugins/ipam/host-local/backend/allocator/range.go, Canonicalize) and flannel's address as the
# gateway, a route to the whole pod network, and masquerading only when flannel does none. The
# default route comes from the bridge plugin alone (isDefaultGateway): an ipam route to 0.0.0.0/0
# as well would give the pod two (plugins/main/bridge/bridge.go, calcGateways, counts only routes
# that carry a gateway). LAB_KUBE_SUBNET_ENV and LAB_KUBE_CNI_DIR move the files for tests.
cmd_cni() {
  local env=${LAB_KUBE_SUBNET_ENV:-/run/flannel/subnet.env} dir=${LAB_KUBE_CNI_DIR:-/etc/cni/net.d}
  for _ in $(seq 1 120); do
    [ -s "$env" ] && break
    sleep 1
  done
  [ -s "$env" ] || die "$env is missing: is flanneld.service running?"
  read_subnet_env "$env"
  local masq=true
  [ "$FLANNEL_IPMASQ" = true ] && masq=false
  mkdir -p "$dir"
  cat >"$dir/10-lab.conflist.tmp" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "lab",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "isDefaultGateway": true,
      "hairpinMode": true,
      "ipMasq": $masq,
      "mtu": $FLANNEL_MTU,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$(network_of "$FLANNEL_SUBNET")", "gateway": "${FLANNEL_SUBNET%/*}" }]],
        "routes": [{ "dst": "$FLANNEL_NETWORK" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
CNI
  mv -f "$dir/10-lab.conflist.tmp" "$dir/10-lab.conflist"
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
  scheduler-config) cmd_scheduler_config "$@" ;;
  addons) cmd_addons "$@" ;;
  cni) cmd_cni "$@" ;;
  run) cmd_run "$@" ;;
  *) die "usage: lab-kube env|fetch|fetch-tgz|apiserver-init|apiserver-publish|kubeconfig|kubelet-config|scheduler-config|addons|cni|run" ;;
  esac
}

main "$@"
