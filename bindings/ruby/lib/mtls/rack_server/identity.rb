# frozen_string_literal: true

require "openssl"

module MTLS
  class RackServer
    # The client's identity as Rack env values, under the names Apache's
    # mod_ssl gives them (SSLOptions +StdEnvVars +ExportCertData), which
    # Rails and Rack apps behind Apache or Passenger already read, and
    # Puma's puma.peercert.  Formats, each checked against OpenSSL's by the
    # tests:
    #
    #   SSL_CLIENT_VERIFY     SUCCESS, FAILED:<OpenSSL's reason>, NONE (as
    #                         nginx's $ssl_client_verify; mod_ssl says
    #                         GENEROUS where nginx and this say FAILED under
    #                         optional_no_ca)
    #   SSL_CLIENT_S_DN/_I_DN RFC 2253, most specific first, UTF-8 kept
    #                         ("CN=client,OU=testers,O=libmtls test"), as
    #                         mod_ssl 2.4 and nginx >= 1.11.6
    #   SSL_CLIENT_S_DN_CN... one component (CN, O, OU, C, ST, L, UID,
    #                         Email, ...); a repeated one as _OU_1, _OU_2
    #   SSL_CLIENT_M_SERIAL   upper-case hex, as `openssl x509 -serial`
    #   SSL_CLIENT_M_VERSION  the certificate's version, "3"
    #   SSL_CLIENT_V_START/_END  as ASN1_TIME_print: "Dec  5 12:00:00 2026 GMT"
    #   SSL_CLIENT_CERT       the certificate in PEM
    #   SSL_CLIENT_SAN_DNS_n, _Email_n  (mod_ssl's), _URI_n and _IP_n (not
    #                         in mod_ssl 2.4), n from 0
    #   SSL_PROTOCOL, SSL_CIPHER  "TLSv1.3", "TLS_AES_256_GCM_SHA384"
    #   SSL_SESSION_RESUMED   Initial or Resumed
    #   puma.peercert         an OpenSSL::X509::Certificate (frozen)
    #   mtls.peer             the MTLS::Peer
    #
    # A client without a certificate has SSL_CLIENT_VERIFY NONE and none of
    # the certificate's keys.
    #
    # What comes from the certificate is made once per certificate, not
    # per connection: decoding one costs more than a TLS 1.3 handshake's
    # signature, and a server sees the same few clients again and again.
    # The values are frozen and kept by the certificate's SHA-256 and the
    # verify result, up to CACHE_SIZE of them.
    module Identity
      CACHE_SIZE = 512
      @cache = {}
      @lock = Mutex.new

      # mod_ssl's names of DN components, by OpenSSL's short names.
      DN_PARTS = { "C" => "C", "ST" => "ST", "L" => "L", "O" => "O",
                   "OU" => "OU", "CN" => "CN", "title" => "T",
                   "initials" => "I", "GN" => "G", "SN" => "S",
                   "description" => "D", "UID" => "UID",
                   "emailAddress" => "Email", "DC" => "DC" }.freeze
      SANS = { dns: "SSL_CLIENT_SAN_DNS_", email: "SSL_CLIENT_SAN_Email_",
               uri: "SSL_CLIENT_SAN_URI_", ip: "SSL_CLIENT_SAN_IP_" }.freeze
      NONE = { "SSL_CLIENT_VERIFY" => "NONE" }.freeze

      # The env values of the connection ptr (its handshake done): a
      # frozen Hash, shared.
      def self.of(ptr)
        return NONE if Native.mtls_peer_cert_provided(ptr) != 1

        verify = if Native.mtls_peer_cert_verified(ptr) == 1
                   "SUCCESS"
                 else
                   "FAILED:#{Native.mtls_peer_verify_error(ptr) || 'unknown'}"
                 end
        key = "#{Native.mtls_peer_fingerprint_sha256(ptr)} #{verify}"
        @lock.synchronize { @cache[key] } || remember(key, build(ptr, verify))
      end

      def self.remember(key, values)
        @lock.synchronize do
          @cache.shift while @cache.size >= CACHE_SIZE
          @cache[key] ||= values
        end
      end

      def self.build(ptr, verify)
        peer = Peer.new(ptr)
        cert = OpenSSL::X509::Certificate.new(peer.cert_pem).freeze
        env = { "SSL_CLIENT_VERIFY" => verify,
                "SSL_CLIENT_S_DN" => peer.subject.to_s,
                "SSL_CLIENT_I_DN" => peer.issuer.to_s,
                "SSL_CLIENT_M_SERIAL" => peer.serial.to_s,
                "SSL_CLIENT_M_VERSION" => (cert.version + 1).to_s,
                "SSL_CLIENT_V_START" => asn1_time(peer.not_before),
                "SSL_CLIENT_V_END" => asn1_time(peer.not_after),
                "SSL_CLIENT_CERT" => peer.cert_pem,
                "puma.peercert" => cert, "mtls.peer" => peer }
        dn_parts(env, "SSL_CLIENT_S_DN_", cert.subject)
        dn_parts(env, "SSL_CLIENT_I_DN_", cert.issuer)
        SANS.each do |type, prefix|
          peer.public_send(type).each_with_index { |name, i| env["#{prefix}#{i}"] = name }
        end
        # Rack's SPEC: CGI values with bytes past ASCII are ASCII-8BIT.
        env.transform_values! { |v| v.is_a?(String) ? v.b.freeze : v }
        env.freeze
      end

      # ASN1_TIME_print's form, which mod_ssl and nginx use.
      def self.asn1_time(time)
        time&.strftime("%b %e %H:%M:%S %Y GMT")
      end

      def self.dn_parts(env, prefix, name)
        seen = Hash.new(0)
        name.to_a.each do |short, value, _type|
          part = DN_PARTS[short] or next
          n = seen[part]
          seen[part] += 1
          env[n.zero? ? "#{prefix}#{part}" : "#{prefix}#{part}_#{n}"] = value
        end
      end

      # The connection's own values, beside the certificate's.
      def self.connection(ptr)
        { "SSL_PROTOCOL" => Native.mtls_conn_version(ptr).to_s,
          "SSL_CIPHER" => Native.mtls_conn_cipher(ptr).to_s,
          "SSL_SESSION_RESUMED" =>
            Native.mtls_conn_session_resumed(ptr) == 1 ? "Resumed" : "Initial" }
      end

      private_class_method :remember, :build, :dn_parts
    end
  end
end
