# frozen_string_literal: true

require "openssl"
require "socket"
require "net/http"

module MTLS
  # Every exception of the binding is an MTLS::Error (`rescue MTLS::Error`
  # catches them all) and, at the same time, the exception of Ruby's that
  # code written for Net::HTTP already rescues: a failed handshake is an
  # OpenSSL::SSL::SSLError, a read timeout a Net::ReadTimeout, a refused
  # connection an Errno::ECONNREFUSED.
  #
  # #code is the library's enum mtls_error (an Integer, see MTLS::CODES),
  # #code_name its name ("MTLS_ERR_FILE"), and #message the library's own,
  # naming the file, peer or certificate.
  module Error
    attr_reader :code, :details

    # details: what mtls_conn_describe said of a failed handshake (the
    # peer's chain, the CA names it asked for), when there was one.
    def initialize(message = nil, code: 0, details: nil)
      # The parent's own message (Errno's "Connection refused - ...",
      # Net::ReadTimeout's "with #<io>") would say it a second time.
      super()
      @mtls_message = message
      @code = code
      @details = details
    end

    def to_s
      @mtls_message || super
    end

    def code_name
      Native.mtls_error_name(@code)
    end
  end

  # The errors of the binding, each one of Ruby's classes with Error in it.
  # Ruby's classes are named from the top (::IOError): a class of MTLS
  # must never stand for one of Ruby's.

  # Our certificate, key, CA files or options are wrong: missing file, not
  # PEM, wrong passphrase, key not matching, expired identity, bad option.
  class ConfigError < StandardError
    include Error
  end

  # A call the library refused as malformed: a header or target with CR,
  # LF or NUL (header injection), a call out of order.
  class InvalidArgument < ::ArgumentError
    include Error
  end

  # Out of memory, or a code this binding does not know (a newer library).
  class LibraryError < StandardError
    include Error
  end

  # A TLS protocol error after the handshake.  Net::HTTP code rescues
  # OpenSSL::SSL::SSLError.
  class TLSError < OpenSSL::SSL::SSLError
    include Error
  end

  # The TLS handshake failed (no common version, cipher, ...).
  class HandshakeError < TLSError; end

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

  # Timeouts, by what timed out, as Net::HTTP names them: connecting and
  # the handshake; waiting for data; sending it.
  class OpenTimeout < Net::OpenTimeout
    include Error
  end

  class ReadTimeout < Net::ReadTimeout
    include Error
  end

  class WriteTimeout < Net::WriteTimeout
    include Error
  end

  # The host name did not resolve (Net::HTTP: a SocketError).
  class ResolveError < SocketError
    include Error
  end

  # The connection failed in another way: a socket error, a call woken by
  # Connection#wake or Server#close.
  class ConnectionError < ::IOError
    include Error
  end

  # The peer cut the stream without close_notify (Net::HTTP: EOFError).
  class TruncatedError < ::EOFError
    include Error
  end

  # The peer has gone away: reset, broken pipe.
  class ConnectionReset < Errno::ECONNRESET
    include Error
  end

  # TCP connect failures that have an Errno class of their own; another
  # reason to fail a connect is a ConnectionError.
  class ConnectionRefused < Errno::ECONNREFUSED
    include Error
  end

  class HostUnreachable < Errno::EHOSTUNREACH
    include Error
  end

  class NetworkUnreachable < Errno::ENETUNREACH
    include Error
  end

  # The port to listen on is taken.
  class AddressInUse < Errno::EADDRINUSE
    include Error
  end

  # The peer's HTTP message was malformed or ambiguous (Net::HTTP: a
  # Net::HTTPBadResponse).
  class HTTPError < Net::HTTPBadResponse
    include Error
  end

  # A signal that brought no exception (a trap that does not raise, a
  # SIGCHLD) interrupted a call that cannot be made again: an HTTP
  # request or response, cut at an unknown point.  Reads, writes,
  # handshakes, connects and accepts are made again instead.
  class InterruptedError < ConnectionError; end

  # The names of 0.1.0 that stood for Ruby's own classes inside MTLS.
  RENAMED = {
    IOError: "MTLS::ConnectionError (an ::IOError); rescue MTLS::Error for every " \
             "failure of the binding",
    TimeoutError: "MTLS::OpenTimeout, MTLS::ReadTimeout and MTLS::WriteTimeout " \
                  "(Net::OpenTimeout, Net::ReadTimeout, Net::WriteTimeout); rescue " \
                  "Timeout::Error for all three"
  }.freeze

  def self.const_missing(name)
    raise NameError.new("MTLS::#{name} was renamed: use #{RENAMED[name]}", name) if RENAMED.key?(name)

    super
  end

  # Codes of enum mtls_error (include/mtls.h), read from the library:
  # { OK: 0, INVALID: 1, ... }.
  CODES = Native.constants("MTLS_ERR_").transform_keys { |k| k.to_s.upcase.to_sym }
                .merge(OK: Native::CONSTANTS.fetch("MTLS_OK")).freeze

  ERROR_CLASSES = {
    INVALID: InvalidArgument, NOMEM: LibraryError,
    FILE: ConfigError, FORMAT: ConfigError, PASSPHRASE: ConfigError,
    P12_PASSWORD: ConfigError, KEY_MISMATCH: ConfigError,
    UNSUPPORTED: ConfigError, CONFIG_FROZEN: ConfigError,
    BAD_IDENTITY: ConfigError,
    RESOLVE: ResolveError, CONNECT: ConnectionError, LISTEN: ConnectionError,
    TRUNCATED: TruncatedError, CLOSED: ConnectionReset, IO: ConnectionError,
    WOKEN: ConnectionError, TLS: TLSError,
    HTTP: HTTPError, INTERRUPTED: InterruptedError,
    TIMEOUT: ReadTimeout,
    HANDSHAKE: HandshakeError, PROTOCOL: HandshakeError,
    PEER_UNTRUSTED: VerifyError, HOSTNAME: VerifyError,
    NO_PEER_CERT: VerifyError, NOT_ALLOWED: VerifyError,
    CERT_REJECTED: PeerRejectedError, PROXY_PROTOCOL: HandshakeError
  }.select { |k, _| CODES.key?(k) }.transform_keys { |k| CODES.fetch(k) }.freeze

  HANDSHAKE_CODES = %i[HANDSHAKE PROTOCOL PEER_UNTRUSTED HOSTNAME NO_PEER_CERT
                       NOT_ALLOWED CERT_REJECTED].map { |k| CODES[k] }.freeze

  # The socket errors whose Errno class a connect or listen failure takes,
  # by the errno the library kept (mtls_error_errno).
  ERRNO_CLASSES = [ConnectionRefused, HostUnreachable, NetworkUnreachable,
                   AddressInUse].to_h { |k| [k::Errno, k] }.freeze

  # What timed out: the phase of the call (:open while connecting, :read,
  # :write), else the library's message, which begins with what waited
  # ("connect", "TLS handshake", "write", "sending the HTTP request",
  # "read", "waiting for the HTTP response").
  def self.timeout_class(message, phase)
    return OpenTimeout if phase == :open || message.start_with?("connect", "TLS handshake")
    return WriteTimeout if phase == :write || message.start_with?("write", "sending")

    ReadTimeout
  end

  def self.error_class(code, message, phase, errno = 0)
    klass = ERROR_CLASSES.fetch(code, LibraryError)
    if klass == ReadTimeout
      timeout_class(message, phase)
    elsif code == CODES[:CONNECT] || code == CODES[:LISTEN]
      ERRNO_CLASSES.fetch(errno, klass)
    else
      klass
    end
  end

  # The exception for the last failure on a connection or server pointer.
  # phase: :open while connecting (a timeout is then an OpenTimeout).
  def self.error_from_conn(ptr, fallback = "libmtls call failed", phase: nil)
    code = Native.mtls_error_code(ptr)
    message = Native.mtls_error(ptr) || fallback
    klass = error_class(code, message, phase, Native.mtls_error_errno(ptr))
    details = HANDSHAKE_CODES.include?(code) ? Native.mtls_conn_describe(ptr) : nil
    if klass <= VerifyError
      klass.new(message, code: code, details: details,
                         reason: Native.mtls_peer_verify_error(ptr))
    else
      klass.new(message, code: code, details: details)
    end
  end

  # The exception for the last failure on a config pointer.
  def self.error_from_config(cfg, fallback = "libmtls configuration failed")
    code = Native.mtls_config_error_code(cfg)
    klass = ERROR_CLASSES.fetch(code, ConfigError)
    klass = ConfigError if [LibraryError, InvalidArgument].include?(klass)
    klass.new(Native.mtls_config_error(cfg) || fallback, code: code)
  end
end
