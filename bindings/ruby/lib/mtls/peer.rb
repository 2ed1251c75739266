# frozen_string_literal: true

module MTLS
  # The identity the peer presented, copied out of the connection when it
  # is made (so it stays valid after the connection is closed or freed).
  # Fields are nil when the peer presented no certificate.
  class Peer
    attr_reader :subject, :issuer, :common_name, :serial, :fingerprint,
                :spki_sha256, :dns, :ip, :uri, :email, :not_before,
                :not_after, :verify_error, :cert_pem, :chain_pem

    def initialize(ptr)
      @provided = Native.mtls_peer_cert_provided(ptr) == 1
      @verified = Native.mtls_peer_cert_verified(ptr) == 1
      @verify_error = Native.mtls_peer_verify_error(ptr)
      @subject = Native.mtls_peer_subject(ptr)
      @issuer = Native.mtls_peer_issuer(ptr)
      @common_name = Native.mtls_peer_common_name(ptr)
      @serial = Native.mtls_peer_serial(ptr)
      @fingerprint = Native.mtls_peer_fingerprint_sha256(ptr)
      @spki_sha256 = Native.mtls_peer_spki_sha256(ptr)
      @dns, @ip, @uri, @email = %i[dns ip uri email].map { |t| sans(ptr, t) }
      @not_before = time(Native.mtls_peer_not_before(ptr))
      @not_after = time(Native.mtls_peer_not_after(ptr))
      @cert_pem = Native.mtls_peer_cert_pem(ptr)
      @chain_pem = Native.mtls_peer_chain_pem(ptr)
      freeze
    end

    # true when the peer presented a certificate.
    def provided?
      @provided
    end

    # true when it was presented and its chain verified (and, seen from a
    # client, it matched the server name).
    def verified?
      @verified
    end

    # The certificate as an OpenSSL::X509::Certificate (needs 'openssl').
    def certificate
      require "openssl"
      @cert_pem && OpenSSL::X509::Certificate.new(@cert_pem)
    end

    def to_s
      @provided ? @subject.to_s : "(no certificate)"
    end

    def inspect
      "#<MTLS::Peer #{self} verified=#{@verified}>"
    end

    private

    def sans(ptr, type)
      list = []
      while (name = Native.mtls_peer_san(ptr, Native::SAN.fetch(type), list.size))
        list << name
      end
      list.freeze
    end

    def time(t)
      t.negative? ? nil : Time.at(t).utc
    end
  end
end
