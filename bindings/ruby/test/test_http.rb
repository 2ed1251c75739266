# frozen_string_literal: true

require_relative "helper"

class TestHTTP < Minitest::Test
  include MTLSTest

  ECHO = lambda do |req, peer|
    [201, { "X-Method" => req.method, "X-Peer" => peer.subject,
            "X-Verified" => peer.verified?.to_s, "X-Got" => req["x-custom"].to_s },
     [req.target, "|", req.body]]
  end

  def test_methods_headers_body_keepalive
    with_server(app: ECHO) do |server, _errors|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.get("/a?b=1", "X-Custom" => "yes")
        assert_equal 201, r.status
        assert_equal "201", r.code
        assert_equal "/a?b=1|", r.body
        assert_equal "GET", r["x-method"]
        assert_equal "GET", r["X-METHOD"]
        assert_equal "yes", r["X-Got"]
        assert_equal "CN=client,OU=testers,O=libmtls test", r["x-peer"]
        assert_equal "true", r.headers["x-verified"]
        conn = http.connection
        %w[POST PUT].each do |m|
          r = http.request(m, "/p", "body-#{m}")
          assert_equal "/p|body-#{m}", r.body
          assert_equal m, r["X-Method"]
        end
        assert_equal "DELETE", http.delete("/d")["x-method"]
        assert_equal "/x|data", http.post("/x", "data").body
        assert_same conn, http.connection, "keep-alive: one connection"
        assert_equal "TLSv1.3", conn.tls_version
        refute_nil conn.cipher
        assert_equal "CN=localhost", http.peer.common_name.then { |cn| "CN=#{cn}" }
        assert http.peer.verified?
        assert_includes http.peer.dns, "localhost"
        assert_includes http.peer.ip, "127.0.0.1"
        assert_match(/\A\h{64}\z/, http.peer.spki_sha256)
        assert_operator http.peer.not_after, :>, Time.now
      end
    end
  end

  def test_binary_body_both_ways
    bytes = (0..255).map(&:chr).join.b * 300
    app = ->(req, _peer) { [200, {}, req.body.reverse] }
    with_server(app: app) do |server, _|
      MTLS::HTTP.start("127.0.0.1", server.port, context: client_context) do |http|
        r = http.post("/bin", bytes, "Content-Type" => "application/octet-stream")
        assert_equal Encoding::BINARY, r.body.encoding
        assert_equal bytes.reverse, r.body
      end
    end
  end

  def test_mtls_get_one_call
    with_server do |server, _|
      r = MTLS.get("https://localhost:#{server.port}/one", cert: pki("client-combined.pem"),
                                                           ca_file: pki("ca.crt"))
      assert_equal 200, r.status
      assert_equal "GET /one client\n", r.body
    end
  end

  def test_identity_forms
    pem = File.read(pki("client.crt"))
    key = File.read(pki("client.key"))
    require "openssl"
    forms = [
      { cert: pem, key: key },
      { cert: OpenSSL::X509::Certificate.new(pem), key: OpenSSL::PKey.read(key) },
      { cert: pki("client-enc-combined.pem"), password: "secret" },
      { p12: pki("client.p12"), password: "p12pass" },
      { p12: File.binread(pki("client.p12")), password: "p12pass" }
    ]
    with_server do |server, _|
      forms.each do |form|
        ctx = MTLS::Context.new(ca_file: pki("ca.crt"), **form)
        r = MTLS.get("https://localhost:#{server.port}/", context: ctx)
        assert_equal "GET / client\n", r.body, form.keys.inspect
      end
    end
  end

  def test_server_app_exception_answers_500
    with_server(app: ->(_r, _p) { raise "boom" }) do |server, errors|
      r = MTLS.get("https://localhost:#{server.port}/", context: client_context)
      assert_equal 500, r.status
      assert_equal "boom", server_error(errors).message
    end
  end

  def test_connection_io_accepted_and_client
    server = MTLS::Server.new("127.0.0.1", 0, context: server_context)
    t = Thread.new do
      c = server.accept
      c.handshake
      line = c.readpartial(100)
      c.write("echo:", line)
      rest = c.read
      c.write(rest.upcase)
      [c.peer.common_name, c.peer.verified?]
    ensure
      c&.close
    end
    conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
    assert_equal "TLSv1.3", conn.tls_version
    assert_equal "localhost", conn.peer.common_name
    conn.write("hi")
    assert_equal "echo:hi", conn.read(7)
    conn.write("tail")
    # Half-close is not in TLS; the server reads until our close_notify,
    # so close and check what the server saw.
    conn.close
    assert conn.closed?
    conn.close # twice is fine
    assert_equal ["client", true], t.value
    assert_raises(::IOError) { conn.write("x") }
  ensure
    server&.close
  end
end
