# frozen_string_literal: true

module MTLS
  # Any failure reported by libmtls.  #code is the library's enum
  # mtls_error (an Integer), #code_name its name ("MTLS_ERR_FILE"), and the
  # message is the library's own, naming the file, peer or certificate.
  class Error < StandardError
    attr_reader :code, :details

    # details: what mtls_conn_describe said of a failed handshake (the
    # peer's chain, the CA names it asked for), when there was one.
    def initialize(message = nil, code: 0, details: nil)
      super(message)
      @code = code
      @details = details
    end

    def code_name
      Native.mtls_error_name(@code)
    end
  end

  # Our certificate, key, CA files or options are wrong: missing file, not
  # PEM, wrong passphrase, key not matching, expired identity, bad option.
  class ConfigError < Error; end

  # The TLS handshake failed.
  class HandshakeError < Error; end

  # The peer's certificate did not pass: untrusted chain, wrong host name,
  # no certificate, or refused by the allow-list or the verify callback.
  # #reason is OpenSSL's verify reason ("certificate has expired") when the
  # chain did not verify.
  class VerifyError < HandshakeError
    attr_reader :reason

    def initialize(message = nil, reason: nil, **opts)
      super(message, **opts)
      @reason = reason
    end
  end

  # The peer refused our certificate (or our lack of one); in TLS 1.3 this
  # may surface on the first read or write after connecting.
  class PeerRejectedError < HandshakeError; end

  # connect, handshake or I/O did not make progress in time.
  class TimeoutError < Error; end

  # The connection failed: name resolution, TCP connect, reset, a stream
  # cut without close_notify, or another socket or TLS error.
  class IOError < Error; end

  # The peer's HTTP message was malformed or ambiguous.
  class HTTPError < IOError; end

  # A signal that brought no exception (a trap that does not raise, a
  # SIGCHLD) interrupted a call that cannot be made again: an HTTP
  # request or response, cut at an unknown point.  Reads, writes,
  # handshakes, connects and accepts are made again instead.
  class InterruptedError < IOError; end

  # Codes of enum mtls_error (include/mtls.h), read from the library:
  # { OK: 0, INVALID: 1, ... }.
  CODES = Native.constants("MTLS_ERR_").transform_keys { |k| k.to_s.upcase.to_sym }
                .merge(OK: Native::CONSTANTS.fetch("MTLS_OK")).freeze

  ERROR_CLASSES = {
    INVALID: Error, NOMEM: Error,
    FILE: ConfigError, FORMAT: ConfigError, PASSPHRASE: ConfigError,
    P12_PASSWORD: ConfigError, KEY_MISMATCH: ConfigError,
    UNSUPPORTED: ConfigError, CONFIG_FROZEN: ConfigError,
    BAD_IDENTITY: ConfigError,
    RESOLVE: IOError, CONNECT: IOError, LISTEN: IOError, TRUNCATED: IOError,
    CLOSED: IOError, IO: IOError, WOKEN: IOError, TLS: IOError,
    HTTP: HTTPError, INTERRUPTED: InterruptedError,
    TIMEOUT: TimeoutError,
    HANDSHAKE: HandshakeError, PROTOCOL: HandshakeError,
    PEER_UNTRUSTED: VerifyError, HOSTNAME: VerifyError,
    NO_PEER_CERT: VerifyError, NOT_ALLOWED: VerifyError,
    CERT_REJECTED: PeerRejectedError
  }.select { |k, _| CODES.key?(k) }.transform_keys { |k| CODES.fetch(k) }.freeze

  HANDSHAKE_CODES = %i[HANDSHAKE PROTOCOL PEER_UNTRUSTED HOSTNAME NO_PEER_CERT
                       NOT_ALLOWED CERT_REJECTED].map { |k| CODES[k] }.freeze

  # The exception for the last failure on a connection or server pointer.
  def self.error_from_conn(ptr, fallback = "libmtls call failed")
    code = Native.mtls_error_code(ptr)
    message = Native.mtls_error(ptr) || fallback
    klass = ERROR_CLASSES.fetch(code, Error)
    details = HANDSHAKE_CODES.include?(code) ? Native.mtls_conn_describe(ptr) : nil
    if klass == VerifyError
      klass.new(message, code: code, details: details,
                         reason: Native.mtls_peer_verify_error(ptr))
    else
      klass.new(message, code: code, details: details)
    end
  end

  # The exception for the last failure on a config pointer.
  def self.error_from_config(cfg, fallback = "libmtls configuration failed")
    code = Native.mtls_config_error_code(cfg)
    klass = ERROR_CLASSES.fetch(code, Error)
    klass = ConfigError if klass == Error
    klass.new(Native.mtls_config_error(cfg) || fallback, code: code)
  end
end
