#!/usr/bin/env bash
# Test certificates for the TLS tests: tests/tls/mkcerts.sh OUTDIR
#
#   ca.pem        test CA ("livequery.h test CA")
#   server.pem    server.key   for 127.0.0.1 / localhost, signed by ca.pem
#   expired.pem   expired.key  same names, signed by ca.pem, valid only in 2020
#   wrong.pem     wrong.key    signed by ca.pem, for wrong.example only
#   ip-only.pem   SAN IP:127.0.0.1 only          ipv6.pem      SAN IP:::1 only
#   wrong-ip.pem  SAN IP:127.0.0.2 and DNS:127.0.0.1 (an IP is never matched against a DNS name)
#   cn-only.pem   no SAN, CN localhost            cn-ip.pem     no SAN, CN 127.0.0.1 (never matched)
#   san-cn.pem    SAN DNS:other.example, CN localhost (with a SAN the CN does not count)
#   wildcard.pem  SAN DNS:*.lq.test (a.lq.test, never a.b.lq.test or lq.test)
#   other-ca.pem  a second CA that signed none of these
# (and the keys, plus ca.cnf and the ca-* files of `openssl ca`)
#
# server.pem names its address the way browsers, Node, Go and OpenSSL expect: IP:127.0.0.1 (and
# DNS:localhost). EC P-256 keys: the whole set takes about a second. Everything stays in OUTDIR.
set -euo pipefail

if [[ $# -ne 1 ]]; then echo "usage: $0 OUTDIR" >&2; exit 2; fi
mkdir -p "$1"
OUT="$(cd "$1" && pwd)"
cd "$OUT"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The CA database `openssl ca` needs: it is the only openssl 3.0 command that takes explicit
# start and end dates (x509 -req only counts days from now).
cat >ca.cnf <<'CNF'
[ca]
default_ca = testca
[testca]
dir = .
database = ca-index.txt
new_certs_dir = ca-newcerts
serial = ca-serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
commonName = supplied
[v3_ca]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost
[leaf]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ip-only]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
[ipv6]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:::1
[wrong-ip]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.2, DNS:127.0.0.1
[wildcard]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:*.lq.test
[san-cn]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.example
[wrong]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
CNF
rm -rf ca-newcerts ca-index.txt*
mkdir ca-newcerts
: >ca-index.txt
echo 1000 >ca-serial

# ca_self KEY CERT CN: a self-signed CA certificate
ca_self() {
  key "$1"
  openssl req -new -x509 -key "$1" -out "$2" -subj "/CN=$3" -days 30 -sha256 \
    -config ca.cnf -extensions v3_ca 2>/dev/null
}

# issue NAME CN EXTENSIONS [START END]: NAME.key and NAME.pem signed by ca.pem
issue() {
  local name="$1" cn="$2" ext="$3" dates=(-days 30)
  [[ $# -eq 5 ]] && dates=(-startdate "$4" -enddate "$5")
  key "$name.key"
  openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -extensions "$ext" \
    "${dates[@]}" -in "$name.csr" -out "$name.pem" 2>"$name.log" || { cat "$name.log" >&2; exit 1; }
  rm -f "$name.csr" "$name.log"
}

ca_self ca.key ca.pem "livequery.h test CA"
ca_self other-ca.key other-ca.pem "livequery.h unrelated CA"
issue server 127.0.0.1 server
issue expired 127.0.0.1 server 20200101000000Z 20201231235959Z
issue wrong wrong.example wrong
issue ip-only "ip only" ip-only
issue ipv6 "ipv6 only" ipv6
issue wrong-ip 127.0.0.1 wrong-ip
issue cn-only localhost leaf
issue cn-ip 127.0.0.1 leaf
issue san-cn localhost san-cn
issue wildcard wildcard wildcard

for c in server expired wrong ip-only ipv6 wrong-ip cn-only cn-ip san-cn wildcard; do
  openssl verify -CAfile ca.pem -no_check_time "$c.pem" >/dev/null || { echo "mkcerts: $c.pem does not verify" >&2; exit 1; }
done
echo "mkcerts: ca.pem server.pem expired.pem wrong.pem other-ca.pem in $OUT"
