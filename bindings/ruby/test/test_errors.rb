# frozen_string_literal: true

require_relative "helper"
require "net/http"

class TestErrors < Minitest::Test
  include MTLSTest

  def test_untrusted_server
    with_server do |server, _|
      ctx = MTLS::Context.new(cert: pki("client.crt"), key: pki("client.key"),
                              ca_file: pki("other-ca.crt"))
      e = assert_raises(MTLS::VerifyError) do
        MTLS.get("https://localhost:#{server.port}/", context: ctx)
      end
      assert_kind_of MTLS::HandshakeError, e
      assert_equal MTLS::CODES[:PEER_UNTRUSTED], e.code
      assert_equal "MTLS_ERR_PEER_UNTRUSTED", e.code_name
      assert_match(/server certificate not trusted/, e.message)
      assert_match(/other-ca.crt/, e.message)
      assert_match(/unable to get local issuer certificate/, e.reason)
      assert_match(/CN=localhost/, e.details)
    end
  end

  def test_no_client_certificate
    with_server do |server, errors|
      e = assert_raises(MTLS::PeerRejectedError) do
        MTLS.get("https://localhost:#{server.port}/", ca_file: pki("ca.crt"))
      end
      assert_equal MTLS::CODES[:CERT_REJECTED], e.code
      assert_match(/requires a client certificate and we sent none/, e.message)
      se = server_error(errors)
      assert_kind_of MTLS::VerifyError, se
      assert_match(/client presented no certificate/, se.message)
    end
  end

  def test_client_of_another_ca_is_rejected
    with_server do |server, errors|
      ctx = MTLS::Context.new(cert: pki("selfsigned.crt"), key: pki("selfsigned.key"),
                              ca_file: pki("ca.crt"))
      e = assert_raises(MTLS::PeerRejectedError) do
        MTLS.get("https://localhost:#{server.port}/", context: ctx)
      end
      assert_match(/server rejected our client certificate/, e.message)
      se = server_error(errors)
      assert_equal MTLS::CODES[:PEER_UNTRUSTED], se.code
      assert_match(/client certificate not trusted/, se.message)
    end
  end

  def test_wrong_key_passphrase
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(cert: pki("client.crt"), key: pki("client-enc.key"), password: "wrong")
    end
    assert_equal MTLS::CODES[:PASSPHRASE], e.code
    assert_match(/client-enc.key/, e.message)
    assert_match(/passphrase/, e.message)
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(p12: pki("client.p12"), password: "wrong")
    end
    assert_equal MTLS::CODES[:P12_PASSWORD], e.code
    assert_match(/password/, e.message)
  end

  def test_missing_files
    e = assert_raises(MTLS::ConfigError) { MTLS::Context.new(cert: "/nonexistent/client.crt") }
    assert_equal MTLS::CODES[:FILE], e.code
    assert_match(%r{/nonexistent/client.crt}, e.message)
    e = assert_raises(MTLS::ConfigError) { MTLS::Context.new(ca_file: "/nonexistent/ca.crt") }
    assert_match(%r{/nonexistent/ca.crt}, e.message)
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(cert: File.read(pki("client.crt")), key: "/nonexistent/k.key")
    end
    assert_match(%r{cannot read key '/nonexistent/k.key'}, e.message)
  end

  # Verification off is asked for by name, never by OpenSSL's VERIFY_NONE.
  def test_verify_none_needs_its_insecure_name
    [:none, 0].each do |mode|
      e = assert_raises(ArgumentError) { MTLS::Context.new(verify_mode: mode) }
      assert_match(/insecure_none/, e.message)
    end
    assert MTLS::Context.new(verify_mode: :insecure_none).frozen?
  end

  def test_key_mismatch_and_not_pem
    e = assert_raises(MTLS::ConfigError) do
      MTLS::Context.new(cert: pki("client.crt"), key: pki("server.key"))
    end
    assert_equal MTLS::CODES[:KEY_MISMATCH], e.code
    e = assert_raises(MTLS::ConfigError) { MTLS::Context.new(ca_file: pki("not-pem.txt")) }
    assert_equal MTLS::CODES[:FORMAT], e.code
  end

  def test_hostname_mismatch
    with_server do |server, _|
      e = assert_raises(MTLS::VerifyError) do
        MTLS::HTTP.start("127.0.0.1", server.port, context: client_context,
                                                   verify_name: "other.example") { |h| h.get("/") }
      end
      assert_equal MTLS::CODES[:HOSTNAME], e.code
      assert_match(/other.example/, e.message)
    end
  end

  def test_connection_refused_and_bad_arguments
    e = assert_raises(MTLS::ConnectionRefused) do
      MTLS::Connection.connect("127.0.0.1", free_port, context: client_context)
    end
    assert_equal MTLS::CODES[:CONNECT], e.code
    assert_match(/cannot connect to/, e.message)
    assert_raises(ArgumentError) { MTLS::Context.new(bogus: 1) }
    assert_raises(ArgumentError) { MTLS::Context.new(allow: { nope: "x" }) }
    assert_raises(ArgumentError) { MTLS.get("http://localhost/") }
  end

  # The Errno class comes from the errno the library kept
  # (mtls_error_errno), not from the message's wording.
  def test_port_in_use_is_errno_eaddrinuse
    taken = TCPServer.new("127.0.0.1", 0)
    e = assert_raises(MTLS::AddressInUse) do
      MTLS::Server.new("127.0.0.1", taken.addr[1], context: server_context)
    end
    assert_kind_of Errno::EADDRINUSE, e
    assert_equal MTLS::CODES[:LISTEN], e.code
    assert_match(/cannot listen on 127.0.0.1 port #{taken.addr[1]}/, e.message)
  ensure
    taken&.close
  end

  def test_context_is_frozen
    ctx = client_context
    assert ctx.frozen?
    assert_raises(FrozenError) { ctx.instance_variable_set(:@x, 1) }
  end

  def test_renamed_classes_say_their_new_names
    e = assert_raises(NameError) { MTLS::IOError }
    assert_match(/MTLS::IOError was renamed: use MTLS::ConnectionError/, e.message)
    e = assert_raises(NameError) { MTLS::TimeoutError }
    assert_match(/MTLS::ReadTimeout/, e.message)
    assert_raises(NameError) { MTLS::NoSuchThing }
  end

  # Every exception class of the binding is an MTLS::Error and one of
  # Ruby's that Net::HTTP code rescues.
  def test_error_classes
    {
      MTLS::HandshakeError => OpenSSL::SSL::SSLError, MTLS::VerifyError => OpenSSL::SSL::SSLError,
      MTLS::PeerRejectedError => OpenSSL::SSL::SSLError, MTLS::TLSError => OpenSSL::SSL::SSLError,
      MTLS::OpenTimeout => Net::OpenTimeout, MTLS::ReadTimeout => Net::ReadTimeout,
      MTLS::WriteTimeout => Net::WriteTimeout, MTLS::ConnectionRefused => Errno::ECONNREFUSED,
      MTLS::ResolveError => SocketError, MTLS::TruncatedError => EOFError,
      MTLS::ConnectionReset => Errno::ECONNRESET, MTLS::ConnectionError => ::IOError,
      MTLS::HTTPError => Net::HTTPBadResponse, MTLS::InvalidArgument => ::ArgumentError,
      MTLS::ConfigError => StandardError, MTLS::InterruptedError => ::IOError
    }.each do |klass, ruby|
      assert_operator klass, :<, ruby
      assert_operator klass, :<, MTLS::Error
      e = klass.new("the cause", code: MTLS::CODES[:IO])
      assert_equal "the cause", e.message
      assert_equal "MTLS_ERR_IO", e.code_name
    end
    MTLS::ERROR_CLASSES.each_value { |klass| assert_operator klass, :<, MTLS::Error }
  end

  # Codes, verify modes and SAN types come from the library.
  def test_constants_read_from_the_library
    assert_equal MTLS::Native.mtls_error_name(MTLS::CODES[:HOSTNAME]), "MTLS_ERR_HOSTNAME"
    MTLS::CODES.each { |name, code| assert_match(/\AMTLS_(ERR_)?#{name}\z/, MTLS::Native.mtls_error_name(code)) }
    assert_equal MTLS::Native.mtls_error_name(MTLS::CODES.size), "MTLS_ERR_UNKNOWN"
    assert_equal({ dns: 1, ip: 2, uri: 3, email: 4 }, MTLS::Native::SAN)
    assert_equal({ required: 0, optional: 1, optional_no_ca: 2 }, MTLS::Native::VERIFY_CLIENT)
    assert_equal 0x0304, MTLS::Native::TLS1_3
  end
end
