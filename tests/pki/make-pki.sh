#!/bin/sh
# make-pki.sh OUTDIR - makes the whole libmtls test PKI in OUTDIR.
#
# The PKI is made at test time and never committed, so nothing in the tree
# can expire: valid certificates live 30 days from now.  Only the openssl
# command line is used ($OPENSSL_BIN, else `openssl` from PATH), the way the
# articles libmtls was made from do it, so the files are the ones users have.
#
# Keys are EC P-256 (fast to make and to sign with) except where a file must
# reproduce a seed article's commands, which make RSA keys.
#
# Silent on success; on failure it prints the failing command and its output.
# Running it again removes OUTDIR and starts over.
set -e

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: make-pki.sh OUTDIR" >&2
	exit 1
fi
case $1 in
/ | . | ..) echo "make-pki.sh: refusing to remove '$1'" >&2; exit 1 ;;
esac

OPENSSL=${OPENSSL_BIN:-openssl}
out=$1
rm -rf "$out"
mkdir -p "$out"
cd "$out"

# The commands' chatter ("Certificate request self-signature ok", openssl ca's
# report) goes to a log that is shown only when a command fails.
log=$(pwd)/.openssl.log
ossl() {
	: >"$log"
	if ! "$OPENSSL" "$@" >>"$log" 2>&1; then
		echo "make-pki.sh: failed: $OPENSSL $*" >&2
		cat "$log" >&2
		exit 1
	fi
}

# One configuration for our own CSRs, extensions and `openssl ca`, so that the
# result does not depend on the system's openssl.cnf.  The seed commands
# below deliberately run without it, exactly as the article has them.
cat >pki.cnf <<'EOF'
[ req ]
distinguished_name = req_dn
prompt             = no
[ req_dn ]
CN = unused

[ v3_root ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_int ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

# Intermediates without a path length limit, for chains of 2 and 3
# intermediates (int.crt has pathlen:0 and cannot sign another CA).
[ v3_int_chain ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ server ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ serveronly ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:serveronly
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# The SAN of every type, for mtls_peer_san().
[ client ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = DNS:client.example.org, URI:spiffe://example.org/ns/test/sa/client, email:client@example.org, IP:127.0.0.2
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ client_plain ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# A self-signed leaf has no issuer key to point to.
[ client_self ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash

# A server certificate whose EKU allows only the client role, for the
# identity preflight (a server needs serverAuth).
[ server_clientauth ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = DNS:localhost
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Workload identities for the allow-lists: a SPIFFE ID, the same with an
# extra path segment (a '*' must not cross a '/'), and a DNS name two
# labels below example.org (a '*' must not cross a '.').
[ client_spiffe ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = URI:spiffe://example.org/ns/prod/sa/billing
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ client_spiffe_extra ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = URI:spiffe://example.org/ns/prod/extra/sa/billing
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

[ client_subdomain ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectAltName         = DNS:a.b.example.org
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# `openssl ca` is the only 3.0 command that can set arbitrary validity
# dates (x509 -req cannot backdate), needed for expired/not-yet-valid certs.
[ ca ]
default_ca = testca
[ testca ]
database        = ca-db/index.txt
new_certs_dir   = ca-db
serial          = ca-db/serial
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
crlnumber       = ca-db/crlnumber
default_crl_days = 30
crl_extensions  = crl_ext

# The intermediate's own database, for its (empty) CRL.
[ intca ]
database        = int-db/index.txt
new_certs_dir   = int-db
serial          = int-db/serial
crlnumber       = int-db/crlnumber
default_md      = sha256
policy          = policy_any
default_crl_days = 30
crl_extensions  = crl_ext

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ policy_any ]
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied
EOF

genkey() {	# genkey FILE: an EC P-256 key, unencrypted PKCS#8 PEM
	ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -pkeyopt ec_param_enc:named_curve -out "$1"
}

csr() {		# csr KEY SUBJECT: writes req.csr
	ossl req -config pki.cnf -new -key "$1" -subj "$2" -sha256 -out req.csr
}

# sign NAME ISSUER SECTION SUBJECT [DAYS]: NAME.key (made if absent) and
# NAME.crt, signed by ISSUER.crt/ISSUER.key with the extensions of SECTION,
# valid DAYS days (default 30).
sign() {
	[ -f "$1.key" ] || genkey "$1.key"
	csr "$1.key" "$4"
	ossl x509 -req -in req.csr -CA "$2.crt" -CAkey "$2.key" \
	    -CAserial "$2.srl" -CAcreateserial -days "${5:-30}" -sha256 \
	    -extfile pki.cnf -extensions "$3" -out "$1.crt"
}

# sign_dated NAME SECTION SUBJECT START END: as sign, by the root CA, with
# the given validity (YYYYMMDDHHMMSSZ).
sign_dated() {
	genkey "$1.key"
	csr "$1.key" "$3"
	ossl ca -config pki.cnf -batch -notext -cert ca.crt -keyfile ca.key \
	    -startdate "$4" -enddate "$5" -extensions "$2" \
	    -in req.csr -out "$1.crt"
}

# --- root and intermediate CAs
genkey ca.key
ossl req -config pki.cnf -new -x509 -key ca.key \
    -subj '/CN=libmtls Test Root CA' -days 30 -sha256 \
    -extensions v3_root -out ca.crt
sign int ca v3_int '/CN=libmtls Test Intermediate CA'

mkdir ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
echo 01 >ca-db/crlnumber

# --- servers
sign server ca server '/CN=localhost'
# The same name with an RSA key: a server holding both presents the one
# each client supports, as nginx does with two ssl_certificate lines.
ossl genrsa -out server-rsa.key 2048
sign server-rsa ca server '/CN=localhost'
sign server-int int server '/CN=localhost'
cat server-int.crt int.crt >server-chain.crt
sign serveronly ca serveronly '/CN=serveronly'
sign_dated server-expired server '/CN=localhost' \
    20200101000000Z 20200201000000Z

# A CN-only server certificate made exactly as the seed article makes one:
# RSA key, default openssl.cnf, x509 -req without an extension file, which
# gives a v1 certificate with no subjectAltName (hostname checks must fall
# back to the CN).
ossl genrsa -out server-cn.key 2048
ossl req -new -key server-cn.key -subj '/CN=localhost' -out x.csr -sha256
ossl x509 -req -in x.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server-cn.crt -days 30 -sha256

# --- clients
sign client ca client '/O=libmtls test/OU=testers/CN=client'
sign client-int int client_plain '/CN=client-int'
cat client-int.crt int.crt >client-chain.crt
sign_dated client-expired client_plain '/CN=client-expired' \
    20200101000000Z 20200201000000Z
sign_dated client-notyet client_plain '/CN=client-notyet' \
    20990101000000Z 20991231000000Z

genkey selfsigned.key
ossl req -config pki.cnf -new -x509 -key selfsigned.key -subj '/CN=client' \
    -days 30 -sha256 -extensions client_self -out selfsigned.crt

# A second, unrelated CA and a client of it: a well-formed certificate the
# server does not trust.
genkey other-ca.key
ossl req -config pki.cnf -new -x509 -key other-ca.key \
    -subj '/CN=libmtls Other CA' -days 30 -sha256 \
    -extensions v3_root -out other-ca.crt
sign other-client other-ca client_plain '/CN=other-client'

# --- the client identity in the other forms people have it in
ossl pkcs8 -topk8 -in client.key -v2 aes-256-cbc -passout pass:secret \
    -out client-enc.key
# `openssl ec` writes the traditional "Proc-Type: 4,ENCRYPTED" form.
ossl ec -in client.key -aes128 -passout pass:secret -out client-enc-trad.key
grep -q 'Proc-Type: 4,ENCRYPTED' client-enc-trad.key || {
	echo "make-pki.sh: client-enc-trad.key is not traditional PEM" >&2
	exit 1
}
cat client.crt client.key >client-combined.pem
cat client.crt client-enc.key >client-enc-combined.pem

ossl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt \
    -name client -passout pass:p12pass -out client.p12
ossl pkcs12 -export -in client.crt -inkey client.key -certfile ca.crt \
    -name client -passout pass: -out client-nopass.p12
# RC2-40 / 3DES, as older tools and Java keystores write them.
ossl pkcs12 -export -legacy -in client.crt -inkey client.key \
    -certfile ca.crt -name client -passout pass:p12pass \
    -out client-legacy.p12

# --- trust anchors in other shapes
mkdir ca-dir
cp ca.crt ca-dir/
hash=$("$OPENSSL" x509 -hash -noout -in ca.crt)
ln -s ca.crt "ca-dir/$hash.0"
cat ca.crt other-ca.crt >ca-bundle.crt
# Advertised CA names that differ from the trust store (nginx's
# ssl_client_certificate vs ssl_trusted_certificate).
cp other-ca.crt names-only-ca.crt

# --- policy: revocation, chain depth, allow-lists, preflight, tickets

# A client revoked by the root, issued by `openssl ca` so that its database
# knows it; the root's CRL (crl.pem) lists it.  The intermediate's CRL
# (crl-int.pem) is empty: with both, a whole-chain check of client-chain.crt
# finds every CA's CRL.  crl-chain.pem holds both.
genkey client-revoked.key
csr client-revoked.key '/CN=client-revoked'
ossl ca -config pki.cnf -batch -notext -cert ca.crt -keyfile ca.key \
    -days 30 -extensions client_plain -in req.csr -out client-revoked.crt
ossl ca -config pki.cnf -cert ca.crt -keyfile ca.key \
    -revoke client-revoked.crt -crl_reason keyCompromise
ossl ca -config pki.cnf -gencrl -cert ca.crt -keyfile ca.key -out crl.pem
mkdir int-db
: >int-db/index.txt
echo 2000 >int-db/serial
echo 01 >int-db/crlnumber
ossl ca -config pki.cnf -name intca -gencrl -cert int.crt -keyfile int.key \
    -out crl-int.pem
cat crl.pem crl-int.pem >crl-chain.pem

# Chains longer than int.crt's: root > int-chain > int2 > int3.
# client-deep-chain.crt has 2 intermediates (the default depth accepts it),
# client-deeper-chain.crt 3 (refused unless the depth is raised).
sign int-chain ca v3_int_chain '/CN=libmtls Chain Intermediate CA'
sign int2 int-chain v3_int_chain '/CN=libmtls Second Intermediate CA'
sign int3 int2 v3_int_chain '/CN=libmtls Third Intermediate CA'
sign client-deep int2 client_plain '/CN=client-deep'
cat client-deep.crt int2.crt int-chain.crt >client-deep-chain.crt
sign client-deeper int3 client_plain '/CN=client-deeper'
cat client-deeper.crt int3.crt int2.crt int-chain.crt >client-deeper-chain.crt

# Identities for the allow-lists.
sign client-ou ca client_plain '/O=libmtls test/OU=payments/CN=payment-service'
sign client-spiffe ca client_spiffe '/CN=billing'
sign client-spiffe-extra ca client_spiffe_extra '/CN=billing-extra'
sign client-subdomain ca client_subdomain '/CN=client-subdomain'

# Preflight: a client certificate that expires in 3 days (a warning), and
# a "server" certificate whose EKU allows only clientAuth (an error).
sign client-soon ca client_plain '/CN=client-soon' 3
sign server-clientauth-only ca server_clientauth '/CN=localhost'

# Session-ticket keys, as nginx's ssl_session_ticket_key: 80 random bytes.
ossl rand -out ticket.key 80
ossl rand -out ticket2.key 80
# Several keys in one file, the new one first (as a rotation writes it),
# and nginx's older 48-byte (AES-128) keys, alone and two in a file.
cat ticket2.key ticket.key >tickets-rotated.key
ossl rand -out ticket48.key 48
ossl rand -out ticket48-2.key 48
cat ticket48-2.key ticket48.key >tickets48-rotated.key

echo 'This is a text file, not a PEM certificate.' >not-pem.txt
: >empty.pem

# --- seed/: the exact commands of seed article 000 ("Securing Ruby
# Applications with mTLS"), in their own folder (validity 30 days, not 365).
mkdir seed
cd seed
ossl req -new -x509 -nodes -days 30 -subj '/CN=my-ca' -keyout ca.key \
    -out ca.crt -sha256
ossl genrsa -out server.key 2048
ossl req -new -key server.key -subj '/CN=localhost' -out server.csr -sha256
ossl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days 30 -sha256
ossl genpkey -algorithm RSA -out client.key
ossl req -new -key client.key -subj '/CN=client' -out client.csr -sha256
ossl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out client.crt -days 30 -sha256
cat client.crt client.key >combined.pem
cd ..

rm -f req.csr x.csr "$log"
