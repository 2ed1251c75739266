# frozen_string_literal: true

require "openssl"
require_relative "rack_helper"

# A Rack server behind a load balancer (proxy_protocol:): the PROXY
# header's client is REMOTE_ADDR; a source that is not trusted, or a
# client that sends no header, is refused with the library's reason; a
# bad list of sources is refused when the context is made.  The client is
# Ruby's own OpenSSL over a TCP socket that first writes the header, as
# HAProxy does.
class TestProxyProtocol < Minitest::Test
  include RackTest

  V1 = "PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\n"
  V2 = "\r\n\r\n\0\r\nQUIT\n\x21\x21\0\x24".b +
       [0x20010db8, 0, 0, 7, 0x20010db8, 0, 0, 1].pack("N8") + [40_001, 443].pack("n2")

  # One GET over TLS after header on a new connection to port; the
  # response, or nil when the server refused.
  def get_after(header, port)
    sock = TCPSocket.new("127.0.0.1", port)
    sock.write(header)
    ssl = OpenSSL::SSL::SSLSocket.new(sock, openssl_client)
    ssl.hostname = "localhost"
    ssl.sync_close = true
    ssl.connect
    ssl.write("GET /pp HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    ssl.read
  rescue OpenSSL::SSL::SSLError, SystemCallError
    nil
  ensure
    ssl ? ssl.close : sock&.close
  end

  def openssl_client
    ctx = OpenSSL::SSL::SSLContext.new
    ctx.cert = OpenSSL::X509::Certificate.new(File.read(pki("client.crt")))
    ctx.key = OpenSSL::PKey.read(File.read(pki("client.key")))
    ctx.ca_file = pki("ca.crt")
    ctx.verify_mode = OpenSSL::SSL::VERIFY_PEER
    ctx
  end

  def test_remote_addr_is_the_headers_client
    [[V1, "203.0.113.7"], [V2, "2001:db8::7"]].each do |header, addr|
      app = Recorder.new
      with_rack(app, context: rack_context(proxy_protocol: true)) do |server, _log, failures|
        assert_match(/\AHTTP\/1.1 200/, get_after(header, server.port).to_s)
        assert_equal addr, app.env["REMOTE_ADDR"]
        assert_empty failures
      end
    end
  end

  def test_untrusted_source_refused
    app = Recorder.new
    with_rack(app, context: rack_context(proxy_protocol: ["10.0.0.0/8", "fd00::/8"])) do |server, _log, failures|
      assert_nil get_after(V1, server.port)
      error = Timeout.timeout(5) { failures.pop }
      assert_kind_of MTLS::HandshakeError, error
      assert_equal MTLS::CODES.fetch(:PROXY_PROTOCOL), error.code
      assert_includes error.message, "PROXY protocol: 127.0.0.1 is not a trusted source"
      assert_empty app.envs
    end
  end

  def test_tls_without_header_refused
    with_rack(Recorder.new, context: rack_context(proxy_protocol: "127.0.0.1")) do |server, _log, failures|
      assert_nil get_after("", server.port)
      error = Timeout.timeout(5) { failures.pop }
      assert_equal MTLS::CODES.fetch(:PROXY_PROTOCOL), error.code
      assert_includes error.message, "a TLS hello: is the load balancer sending send-proxy-v2?"
    end
  end

  def test_bad_source_list_refused
    error = assert_raises(MTLS::Error) { server_context(proxy_protocol: "10.0.0.0/33") }
    assert_equal MTLS::CODES.fetch(:INVALID), error.code
    assert_includes error.message, "'10.0.0.0/33' is not an address or ADDRESS/BITS"
  end

  # rackup -O proxy_protocol=true (a String), and a list of sources.
  def test_handler_option
    files = { cert: pki("server.crt"), key: pki("server.key"), ca_file: pki("ca.crt") }
    ["true", "127.0.0.0/8,::1"].each do |value|
      app = Recorder.new
      with_handler(app, **files, proxy_protocol: value) do |server, _log|
        assert_match(/\AHTTP\/1.1 200/, get_after(V1, server.port).to_s)
        assert_equal "203.0.113.7", app.env["REMOTE_ADDR"]
      end
    end
  end

  # MTLS::Server#accept: Connection#peer_address and #peer_port.
  def test_connection_peer_address
    server = MTLS::Server.new("127.0.0.1", 0, context: server_context(proxy_protocol: true))
    seen = Queue.new
    thread = Thread.new do
      conn = server.accept
      seen << [conn.peer_address, conn.peer_port]
      conn.handshake
      seen << [conn.peer_address, conn.peer_port]
      conn.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      conn.close
    end
    assert_match(/\AHTTP\/1.1 200/, get_after(V2, server.port).to_s)
    assert_equal [nil, nil], Timeout.timeout(5) { seen.pop }, "before the header"
    assert_equal ["2001:db8::7", 40_001], Timeout.timeout(5) { seen.pop }
  ensure
    thread&.join(5)
    server&.close
  end

  def test_off_by_default_remote_addr_is_the_socket
    app = Recorder.new
    with_rack(app) do |server, _log, _failures|
      MTLS::HTTP.start("localhost", server.port, context: client_context) { |http| http.request("GET", "/") }
      assert_equal "127.0.0.1", app.env["REMOTE_ADDR"]
    end
  end
end
