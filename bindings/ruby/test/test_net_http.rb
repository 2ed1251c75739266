# frozen_string_literal: true

require_relative "helper"
require_relative "fixtures/seed_client"
require "digest"
require "net/http"
require "stringio"
require "zlib"

# Net::HTTP's idioms, each run once with Net::HTTP and once with
# MTLS::HTTP against the same mTLS server (the binding's MTLS::Server,
# answering by path): the same results, down to the classes of the
# responses and of the exceptions that Net::HTTP code rescues.
class TestNetHTTP < Minitest::Test
  include MTLSTest

  CLIENTS = [Net::HTTP, MTLS::HTTP].freeze
  BIG = 8 << 20
  BIG_BODY = (("a".."z").to_a.join * (BIG / 26 + 1))[0, BIG].freeze
  PLAIN = ("hello gzip\n" * 200).freeze
  GZIPPED = Zlib.gzip(PLAIN).freeze
  # The request headers the server reports back.
  SEEN = %w[host accept accept-encoding user-agent content-type content-length
            connection depth x-custom].freeze

  APP = lambda do |req, peer|
    case req.path
    when "/echo"
      seen = SEEN.filter_map { |h| "#{h}: #{req[h]}" if req[h] }
      [200, { "Content-Type" => "text/plain" },
       ["#{req.method} #{req.target}\n", seen.join("\n"), "\n\n", req.body]]
    when %r{\A/status/(\d+)\z}
      code = Regexp.last_match(1).to_i
      [code, { "Content-Type" => "text/plain; charset=utf-8" },
       [204, 304].include?(code) ? "" : "status #{code}\n"]
    when "/big" then [200, { "Content-Type" => "application/octet-stream" }, BIG_BODY]
    when "/gzip"
      if req["accept-encoding"].to_s.include?("gzip")
        [200, { "Content-Type" => "text/plain", "Content-Encoding" => "gzip" }, GZIPPED]
      else
        [200, { "Content-Type" => "text/plain" }, PLAIN]
      end
    when "/headers"
      [200, { "Content-Type" => "text/html; charset=UTF-8", "Set-Cookie" => %w[a=1 b=2],
              "X-Multi" => %w[x y] }, "<p>hi</p>\n"]
    when "/created" then [201, { "Location" => "/orders/7" }, ""]
    when "/binary" then [200, { "Content-Type" => "application/octet-stream" }, (0..255).map(&:chr).join.b]
    when "/peer" then [200, { "Content-Type" => "text/plain" }, "#{peer.common_name}\n"]
    else [404, { "Content-Type" => "text/plain" }, "no #{req.path}\n"]
    end
  end

  # A client set up as the seed article sets one up.
  def client(klass, port, host: "localhost", cert: "client.crt", key: "client.key",
             ca_file: "ca.crt", **settings)
    http = klass.new(host, port)
    http.use_ssl = true
    http.cert = OpenSSL::X509::Certificate.new(File.read(pki(cert))) if cert
    http.key = OpenSSL::PKey.read(File.read(pki(key))) if key
    http.ca_file = pki(ca_file)
    http.verify_mode = OpenSSL::SSL::VERIFY_PEER
    settings.each { |name, value| http.public_send(:"#{name}=", value) }
    http
  end

  # start's options, as Net::HTTP takes them.
  def start_options
    { use_ssl: true, cert: OpenSSL::X509::Certificate.new(File.read(pki("client.crt"))),
      key: OpenSSL::PKey.read(File.read(pki("client.key"))), ca_file: pki("ca.crt"),
      verify_mode: OpenSSL::SSL::VERIFY_PEER }
  end

  def without_date(pairs)
    pairs.reject { |name, _| name.to_s.casecmp?("date") }
  end

  def body_of(http, req, body = nil)
    http.request(req, body).body
  end

  # Each idiom: a lambda of (HTTP class, port) whose result must be the
  # same for both classes.
  def idioms
    {
      "request(Get) on new + use_ssl= + cert= + key= + ca_file=" => lambda do |k, port|
        r = client(k, port).request(Net::HTTP::Get.new("/echo"))
        [r.class, r.code, r.message, r.http_version, r.body, r.content_type, r.body.encoding]
      end,
      "start(host, port, use_ssl:, cert:, key:, ca_file:, verify_mode:) { } returns the block's value" =>
        ->(k, port) { k.start("localhost", port, **start_options) { |h| h.get("/peer").body } },
      "start without a block, started?, finish" => lambda do |k, port|
        h = k.start("localhost", port, **start_options)
        seen = [h.started?, h.get("/peer").body]
        h.finish
        seen << h.started?
      end,
      "keep-alive: requests in one session" => lambda do |k, port|
        k.start("localhost", port, **start_options) { |h| Array.new(3) { |i| h.get("/echo?n=#{i}").body } }
      end,
      "request(Post, body) with a Content-Type" => lambda do |k, port|
        body_of(client(k, port), Net::HTTP::Post.new("/echo", "Content-Type" => "application/json"), '{"a":1}')
      end,
      "request(Put) with req.body= and req[]=" => lambda do |k, port|
        req = Net::HTTP::Put.new("/echo")
        req.body = "put body"
        req["X-Custom"] = "yes"
        r = client(k, port).request(req)
        [r.code, r.body]
      end,
      "Patch, Delete, Head, Options objects" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          [[Net::HTTP::Patch.new("/echo"), "patch"], [Net::HTTP::Delete.new("/echo")],
           [Net::HTTP::Head.new("/echo")], [Net::HTTP::Options.new("/echo")]].map do |req, body|
            r = h.request(req, body)
            [r.class, r.code, r.body, r.content_length]
          end
        end
      end,
      "get, post, put, patch, delete, head helpers" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          [h.get("/echo").body, h.post("/echo", "p").body, h.put("/echo", "u").body,
           h.patch("/echo", "a").body, h.delete("/echo").body, h.head("/echo").body,
           h.send_request("PATCH", "/echo", "by name").body]
        end
      end,
      "get with a block streams 8 MiB in pieces" => lambda do |k, port|
        sizes = []
        digest = Digest::SHA256.new
        r = client(k, port).get("/big") do |piece|
          sizes << piece.bytesize
          digest << piece
        end
        [sizes.size > 8, sizes.max <= 64 << 10, sizes.sum, digest.hexdigest, r.body.class, r.code]
      end,
      "request { |r| r.read_body { } }, then read_body again" => lambda do |k, port|
        pieces = []
        res = nil
        client(k, port).request(Net::HTTP::Get.new("/peer")) do |r|
          r.read_body { |piece| pieces << piece }
          res = r
        end
        again = (res.read_body { nil } rescue $!) # rubocop:disable Style/RescueModifier
        [pieces.join, res.body.class, again.class, again.message]
      end,
      "post with a block streams the answer" => lambda do |k, port|
        pieces = []
        client(k, port).post("/echo", "posted") { |piece| pieces << piece }
        pieces.join
      end,
      "get(path, nil, dest) appends to dest" => lambda do |k, port|
        dest = +"before:"
        r = client(k, port).get("/peer", nil, dest)
        [dest, r.body.equal?(dest)]
      end,
      "request_get yields the response before its body" => lambda do |k, port|
        client(k, port).request_get("/peer") { |r| [r.code, r.body] }.then { |r| [r.class, r.body] }
      end,
      "is_a?(Net::HTTPSuccess), value, 404's value raises" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          ok = h.get("/echo")
          nf = h.get("/nope")
          e = (nf.value rescue $!) # rubocop:disable Style/RescueModifier
          [ok.is_a?(Net::HTTPSuccess), ok.value, ok.inspect, nf.class, nf.is_a?(Net::HTTPClientError),
           nf.code, nf.message, nf.body, e.class, e.message, e.response.code]
        end
      end,
      "status codes: 201, 204, 304, 302, 500" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          %w[/created /status/204 /status/304 /status/302 /status/500].map do |path|
            r = h.get(path)
            [r.class, r.code, r.body, r["location"]]
          end
        end
      end,
      "headers: [], get_fields, to_hash, each_header, content_type, type_params" => lambda do |k, port|
        r = client(k, port).get("/headers")
        [r["SET-COOKIE"], r.get_fields("set-cookie"), without_date(r.to_hash), without_date(r.each_header.to_a),
         r.content_type, r.type_params, r.key?("x-multi"), r.content_length,
         r.each_capitalized_name.to_a - ["Date"]]
      end,
      "gzip asked for by default and decoded" => lambda do |k, port|
        r = client(k, port).get("/gzip")
        [r.body, r["content-encoding"], r.decode_content]
      end,
      "gzip decoded while streamed" => lambda do |k, port|
        pieces = []
        client(k, port).get("/gzip") { |piece| pieces << piece }
        pieces.join
      end,
      "Accept-Encoding of the caller's: the body as sent" => lambda do |k, port|
        r = client(k, port).get("/gzip", "Accept-Encoding" => "gzip")
        [Zlib.gunzip(r.body), r["content-encoding"]]
      end,
      "set_form_data" => lambda do |k, port|
        req = Net::HTTP::Post.new("/echo")
        req.set_form_data("a" => "1", "b" => "x y")
        body_of(client(k, port), req)
      end,
      "set_form multipart" => lambda do |k, port|
        req = Net::HTTP::Post.new("/echo")
        req.set_form([["field", "value"], ["file", StringIO.new("file data"), { filename: "f.txt" }]],
                     "multipart/form-data", boundary: "XyZ")
        body_of(client(k, port), req)
      end,
      "body_stream with a Content-Length" => lambda do |k, port|
        req = Net::HTTP::Put.new("/echo")
        req.body_stream = StringIO.new("streamed body")
        req.content_length = 13
        body_of(client(k, port), req)
      end,
      # Net::HTTP sends this one chunked, MTLS::HTTP with a Content-Length:
      # the server gets the same body.
      "body_stream chunked" => lambda do |k, port|
        req = Net::HTTP::Post.new("/echo", "Content-Type" => "text/plain")
        req["Transfer-Encoding"] = "chunked"
        req.body_stream = StringIO.new("chunked body")
        client(k, port).request(req).body.split("\n\n", 2).last
      end,
      "a request on a session not started: Connection: close" => lambda do |k, port|
        h = client(k, port)
        r = h.request(Net::HTTP::Get.new("/echo"))
        [h.started?, r.body[/^connection: .*$/]]
      end,
      "timeout and keep-alive setters on an unstarted object" => lambda do |k, port|
        h = client(k, port, open_timeout: 5, read_timeout: 6, write_timeout: 7,
                            keep_alive_timeout: 1, max_retries: 0)
        [h.open_timeout, h.read_timeout, h.write_timeout, h.keep_alive_timeout, h.max_retries,
         h.get("/peer").body]
      end,
      "read_timeout= on a started session" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          first = h.get("/peer").body
          h.read_timeout = 5
          [first, h.get("/peer").body, h.read_timeout, h.started?]
        end
      end,
      "defaults" => lambda do |k, port|
        h = client(k, port)
        [h.open_timeout, h.read_timeout, h.write_timeout, h.keep_alive_timeout, h.max_retries,
         h.use_ssl?, h.port, h.address, h.started?, h.proxy?]
      end,
      "Net::HTTP::Get.new(URI) and response.uri" => lambda do |k, port|
        r = client(k, port).request(Net::HTTP::Get.new(URI("https://localhost:#{port}/echo?q=1")))
        [r.body, r.uri.to_s]
      end,
      "bodies: binary, ASCII, empty; their encodings" => lambda do |k, port|
        k.start("localhost", port, **start_options) do |h|
          %w[/binary /peer /created].map { |p| h.get(p).body.then { |b| [b.bytesize, b.encoding] } }
        end
      end,
      "peer_cert after start" => lambda do |k, port|
        k.start("localhost", port, **start_options) { |h| h.peer_cert.subject.to_s }
      end,
      # Faraday's way: the system's CAs in a store, and the CA file.
      "cert_store of the system's CAs, and ca_file" => lambda do |k, port|
        store = OpenSSL::X509::Store.new
        store.set_default_paths
        client(k, port, cert_store: store).get("/peer").body
      end,
      "extra_chain_cert: the intermediate sent after the certificate" => lambda do |k, port|
        int = OpenSSL::X509::Certificate.new(File.read(pki("int.crt")))
        client(k, port, cert: "client-int.crt", key: "client-int.key", extra_chain_cert: [int])
          .get("/peer").body
      end,
      "ipaddr= connects there and verifies the name" => lambda do |k, port|
        client(k, port, ipaddr: "127.0.0.1").get("/peer").body
      end,
      "Expect: 100-continue" => lambda do |k, port|
        req = Net::HTTP::Post.new("/echo", "Expect" => "100-continue", "Content-Type" => "text/plain")
        client(k, port, continue_timeout: 2).request(req, "after continue").body
      end
    }
  end

  # Runs the idiom with each client against one server.
  def same_results(idiom)
    with_server(app: APP) do |server, _errors|
      results = CLIENTS.map { |k| idiom.call(k, server.port) }
      assert_equal results[0], results[1]
      results[1]
    end
  end

  def test_idioms_same_results
    idioms.each do |name, idiom|
      result = same_results(idiom)
      refute_nil result, name
    rescue Minitest::Assertion => e
      raise e.class, "#{name}: #{e.message}"
    end
  end

  # Some idioms' results checked for what they must be, not only equal.
  def test_idioms_give_what_net_http_gives
    with_server(app: APP) do |server, _|
      r = client(MTLS::HTTP, server.port).request(Net::HTTP::Get.new("/echo"))
      assert_instance_of Net::HTTPOK, r
      assert_match(/\AGET \/echo\nhost: localhost:#{server.port}\naccept: \*\/\*\n/, r.body)
      assert_equal 200, r.status
      sizes = []
      client(MTLS::HTTP, server.port).get("/big") { |piece| sizes << piece.bytesize }
      assert_operator sizes.size, :>, 100, "8 MiB in pieces of at most 16 KiB"
      assert_equal BIG, sizes.sum
      assert_equal PLAIN, client(MTLS::HTTP, server.port).get("/gzip").body
    end
  end

  # A body given to the block as it arrives: the server sends the second
  # piece only once the client has had the first.
  def test_streamed_pieces_arrive_before_the_end
    CLIENTS.each do |k|
      server = MTLS::Server.new("127.0.0.1", 0, context: server_context)
      gate = Queue.new
      t = Thread.new do
        c = server.accept
        head = +""
        head << c.readpartial(4096) until head.include?("\r\n\r\n")
        c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
                "6\r\nfirst\n\r\n")
        waited = begin
          Timeout.timeout(5) { gate.pop }
        rescue Timeout::Error
          :late
        end
        c.write("7\r\nsecond\n\r\n0\r\n\r\n")
        c.close
        waited
      end
      pieces = []
      client(k, server.port).get("/") do |piece|
        pieces << piece
        gate << :first
      end
      assert_equal %w[first second], pieces.join.split, k.name
      assert_equal :first, t.value, "#{k}: the block had the first piece before the rest was sent"
    ensure
      server&.close
      t&.join(5)
    end
  end

  # The seed article's client, as it is written, against nginx set up as
  # the article sets it up (its 403 unless $ssl_client_verify is SUCCESS),
  # and against mtls-server with the same files.
  def test_seed_article_client_against_nginx
    seed = ->(f) { pki("seed/#{f}") }
    with_nginx(<<~NGINX) do |port|
      ssl_certificate #{seed.('server.crt')}; ssl_certificate_key #{seed.('server.key')};
      ssl_client_certificate #{seed.('ca.crt')}; ssl_verify_client on;
      location / {
        if ($ssl_client_verify != SUCCESS) { return 403; }
        return 200 "hello $ssl_client_s_dn\\n";
      }
    NGINX
      args = [seed.("client.crt"), seed.("client.key"), seed.("ca.crt"), "https://localhost:#{port}/"]
      net, mtls = CLIENTS.map { |k| SeedClient.run(k, *args) }
      assert_equal net, mtls
      assert_equal ["Response Code: 200", "Response Body: hello CN=client\n"], mtls
    end
  end

  def test_seed_article_client
    seed = ->(f) { pki("seed/#{f}") }
    with_mtls_server("--cert", seed.("server.crt"), "--key", seed.("server.key"),
                     "--client-ca", seed.("ca.crt")) do |port|
      args = [seed.("client.crt"), seed.("client.key"), seed.("ca.crt"), "https://localhost:#{port}/"]
      net, mtls = CLIENTS.map { |k| SeedClient.run(k, *args) }
      assert_equal net, mtls
      assert_equal "Response Code: 200", mtls[0]
      assert_match(/verify: SUCCESS\nsubject: CN=client\n/, mtls[1])
    end
  end

  # A keep-alive connection that the server closed while it was idle: the
  # next GET goes on a new connection, for both (MTLS::HTTP gets
  # MTLS_ERR_CLOSED and sends the GET again, as Net::HTTP would).
  def test_keep_alive_connection_closed_by_the_server
    with_mtls_server("--cert", pki("server.crt"), "--key", pki("server.key"),
                     "--client-ca", pki("ca.crt"), "--keepalive-timeout", "1") do |port|
      results = CLIENTS.map do |k|
        client(k, port, keep_alive_timeout: 30).start do |h|
          first = h.get("/who").code
          sleep 1.6
          [first, h.get("/who").code, h.get("/who").body[/verify: \w+/]]
        end
      end
      assert_equal results[0], results[1]
      assert_equal ["200", "200", "verify: SUCCESS"], results[1]
    end
  end

  # ------------------------------------------------------------- failures

  # What Net::HTTP code rescues, most specific first: the first that
  # catches the failure is compared.
  RESCUED = [Net::OpenTimeout, Net::ReadTimeout, Net::WriteTimeout, OpenSSL::SSL::SSLError,
             Errno::ECONNREFUSED, SocketError, EOFError, Errno::ECONNRESET, IOError].freeze

  def rescued(klass, port, run)
    run.call(klass, port)
    flunk "#{klass}: no exception"
  rescue *RESCUED => e
    [RESCUED.find { |c| e.is_a?(c) }, e]
  end

  # Runs run with both clients; the same class of RESCUED must catch both,
  # and MTLS::HTTP's is mtls_class, an MTLS::Error naming the cause.
  def assert_fails_alike(port, mtls_class, message, run)
    (net_rescued, net_e), (mtls_rescued, e) = CLIENTS.map { |k| rescued(k, port, run) }
    assert_equal net_rescued, mtls_rescued, "Net::HTTP: #{net_e.class}: #{net_e.message}; " \
                                            "MTLS::HTTP: #{e.class}: #{e.message}"
    assert_instance_of mtls_class, e
    assert_kind_of MTLS::Error, e
    assert_match message, e.message
    assert_match(/\AMTLS_ERR_/, e.code_name)
    e
  end

  def test_untrusted_server_certificate
    with_server(app: APP) do |server, _|
      e = assert_fails_alike(server.port, MTLS::VerifyError, /server certificate not trusted/,
                             ->(k, port) { client(k, port, ca_file: "other-ca.crt").get("/peer") })
      assert_match(/other-ca\.crt/, e.message)
      assert_equal "MTLS_ERR_PEER_UNTRUSTED", e.code_name
    end
  end

  # No CA given: the system's, as Net::HTTP trusts them, and the test CA
  # is not one of them.
  def test_system_cas_when_no_ca_is_given
    with_server(app: APP) do |server, _|
      assert_fails_alike(server.port, MTLS::VerifyError, /server certificate not trusted/,
                         lambda { |k, port|
                           h = k.new("localhost", port)
                           h.use_ssl = true
                           h.cert = OpenSSL::X509::Certificate.new(File.read(pki("client.crt")))
                           h.key = OpenSSL::PKey.read(File.read(pki("client.key")))
                           h.get("/peer")
                         })
    end
  end

  def test_server_name_mismatch
    ctx = MTLS::Context.new(cert: pki("server-cn.crt"), key: pki("server-cn.key"), ca_file: pki("ca.crt"))
    with_server(context: ctx, app: APP) do |server, _|
      e = assert_fails_alike(server.port, MTLS::VerifyError, /127\.0\.0\.1/,
                             ->(k, port) { client(k, port, host: "127.0.0.1").get("/peer") })
      assert_equal "MTLS_ERR_HOSTNAME", e.code_name
    end
  end

  def test_client_certificate_refused
    with_server(app: APP) do |server, _|
      assert_fails_alike(server.port, MTLS::PeerRejectedError,
                         /requires a client certificate and we sent none/,
                         ->(k, port) { client(k, port, cert: nil, key: nil).get("/peer") })
      assert_fails_alike(server.port, MTLS::PeerRejectedError, /server rejected our client certificate/,
                         ->(k, port) { client(k, port, cert: "selfsigned.crt", key: "selfsigned.key").get("/peer") })
    end
  end

  def test_connection_refused
    e = assert_fails_alike(free_port, MTLS::ConnectionRefused, /cannot connect to .*Connection refused/,
                           ->(k, port) { client(k, port).get("/") })
    assert_equal Errno::ECONNREFUSED::Errno, e.errno
  end

  def test_name_not_resolved
    assert_fails_alike(443, MTLS::ResolveError, /cannot resolve host 'nonexistent\.invalid'/,
                       ->(k, port) { client(k, port, host: "nonexistent.invalid").get("/") })
  end

  def test_read_timeout
    with_silent_server do |server, _|
      assert_fails_alike(server.port, MTLS::ReadTimeout, /timed out after 300 ms/,
                         ->(k, port) { client(k, port, read_timeout: 0.3).get("/") })
    end
  end

  def test_write_timeout
    with_silent_server do |server, _|
      e = assert_fails_alike(server.port, MTLS::WriteTimeout, /sending the HTTP request .*timed out after 300 ms/,
                             ->(k, port) { client(k, port, write_timeout: 0.3).post("/", "x" * (32 << 20)) })
      assert_kind_of Net::WriteTimeout, e
    end
  end

  # A server that takes the TCP connection and says nothing: the
  # handshake times out.
  def test_open_timeout
    tcp = TCPServer.new("127.0.0.1", 0)
    assert_fails_alike(tcp.addr[1], MTLS::OpenTimeout, /TLS handshake with .* timed out after 300 ms/,
                       ->(k, port) { client(k, port, open_timeout: 0.3).get("/") })
  ensure
    tcp&.close
  end

  # ------------------------------------------- what MTLS::HTTP does not do

  def test_verify_none_refused_with_what_to_do
    with_server(app: APP) do |server, _|
      h = client(MTLS::HTTP, server.port, verify_mode: OpenSSL::SSL::VERIFY_NONE)
      e = assert_raises(ArgumentError) { h.get("/peer") }
      assert_match(/VERIFY_NONE.*:insecure_none.*ca_file:/m, e.message)
      h = client(MTLS::HTTP, server.port, verify_mode: :insecure_none)
      assert_equal "client\n", h.get("/peer").body
    end
  end

  def test_plaintext_and_unsupported_options_refused
    e = assert_raises(ArgumentError) { MTLS::HTTP.new("localhost", 1).use_ssl = false }
    assert_match(/speaks only TLS.*Net::HTTP/, e.message)
    e = assert_raises(ArgumentError) { MTLS::HTTP.start("localhost", 1, use_ssl: false) }
    assert_match(/use_ssl: false/, e.message)
    e = assert_raises(ArgumentError) { MTLS::HTTP.new("localhost", 1, "proxy.example", 3128) }
    assert_match(/proxy/, e.message)
    assert_raises(ArgumentError) { MTLS::HTTP::Proxy("proxy.example", 3128) }
    assert_same MTLS::HTTP, MTLS::HTTP::Proxy(nil)
    e = assert_raises(ArgumentError) { MTLS::HTTP.new("localhost", 1, ca_flie: "x") }
    assert_match(/unknown MTLS::HTTP option :ca_flie/, e.message)
    h = MTLS::HTTP.new("localhost", 1, verify_callback: ->(ok, _ctx) { ok })
    assert_match(/verify: ->\(peer\)/, assert_raises(ArgumentError) { h.get("/") }.message)
    h = MTLS::HTTP.new("localhost", 1, verify_hostname: false)
    assert_match(/verify_name:/, assert_raises(ArgumentError) { h.get("/") }.message)
  end
end
