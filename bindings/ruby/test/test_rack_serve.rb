# frozen_string_literal: true

require_relative "rack_helper"
require "digest"

# What MTLS::RackServer does with requests and responses: keep-alive,
# HEAD, uploads through rack.input, streamed bodies, body.close, hijack,
# app errors, the thread pool and the graceful stop.
class TestRackServe < Minitest::Test
  include RackTest

  UPLOAD = 4 << 20

  # Answers with the SHA-256 and size of rack.input (read twice: once in
  # pieces, once whole after a rewind) and the CONTENT_LENGTH it saw.
  DIGEST = lambda do |env|
    input = env["rack.input"]
    sha = Digest::SHA256.new
    size = 0
    while (piece = input.read(65_536))
      sha << piece
      size += piece.bytesize
    end
    input.rewind
    again = Digest::SHA256.hexdigest(input.read)
    [200, { "Content-Type" => "text/plain" },
     ["#{size} #{sha.hexdigest} #{again == sha.hexdigest} #{env['CONTENT_LENGTH'].inspect}\n"]]
  end

  def upload_bytes
    @upload_bytes ||= Random.new(42).bytes(UPLOAD)
  end

  def test_keep_alive_two_requests_one_connection_and_head
    with_rack(Recorder.new) do |server, _, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        assert_equal "ok\n", http.get("/1").body
        head = http.head("/2")
        assert_equal 200, head.status
        assert_nil head.body  # as Net::HTTP: no body for HEAD
        assert_equal "3", head["content-length"]
        assert_equal "ok\n", http.get("/3").body
      end
      assert_equal 1, server.stats[:connections], "one connection for the three requests"
    end
  end

  def test_head_of_a_streamed_body_and_of_a_given_length
    bodies = []
    app = lambda do |env|
      body = Enumerator.new { |y| y << "never sent" }
      bodies << env["PATH_INFO"]
      headers = { "Content-Type" => "text/plain" }
      headers["Content-Length"] = "10" if env["PATH_INFO"] == "/len"
      [200, headers, body]
    end
    with_rack(app) do |server, _, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.head("/len")
        assert_equal "10", r["content-length"]
        assert_nil r.body
        r = http.head("/stream")
        assert_equal 200, r.status
        assert_nil r.body
        assert_equal "never sent", http.get("/stream").body
      end
    end
  end

  def test_upload_with_content_length_and_chunked
    expected = "#{UPLOAD} #{Digest::SHA256.hexdigest(upload_bytes)} true"
    with_rack(DIGEST) do |server, _, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.post("/up", upload_bytes, "Content-Type" => "application/octet-stream")
        assert_equal "#{expected} \"#{UPLOAD}\"\n", r.body
      end
      body = upload_bytes.bytes.each_slice(100_000).map { |s| "#{s.size.to_s(16)}\r\n#{s.pack('C*')}\r\n" }.join
      text = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n#{body}0\r\n\r\n"
      answer = raw(server.port, text)
      assert_match(/\AHTTP\/1.1 200 /, answer)
      assert answer.end_with?("#{expected} nil\n"), answer[-200..]
    end
  end

  def test_upload_with_curl_both_ways
    file = Tempfile.new("upload")
    file.binmode
    file.write(upload_bytes)
    file.close
    expected = "#{UPLOAD} #{Digest::SHA256.hexdigest(upload_bytes)} true"
    with_rack(DIGEST) do |server, _, _|
      url = "https://localhost:#{server.port}/up"
      status, out, err = curl("--data-binary", "@#{file.path}", url)
      assert_equal 0, status, err
      assert_equal "#{expected} \"#{UPLOAD}\"\n", out
      status, out, err = curl("--data-binary", "@#{file.path}", "-H", "Transfer-Encoding: chunked", url)
      assert_equal 0, status, err
      assert_equal "#{expected} nil\n", out
    end
  ensure
    file&.unlink
  end

  # The client sees the first part before the app makes the last: the app
  # waits for the test to have received the first part.
  def test_streamed_body_is_sent_as_it_is_made
    received_first = Queue.new
    closed = Queue.new
    body = Object.new
    body.define_singleton_method(:each) do |&block|
      block.call("first\n")
      Timeout.timeout(5) { received_first.pop }
      block.call("last\n")
    end
    body.define_singleton_method(:close) { closed << :closed }
    with_rack(->(_env) { [200, { "Content-Type" => "text/plain" }, body] }) do |server, log, _|
      http = Net::HTTP.new("localhost", server.port)
      configure_net_http(http)
      parts = []
      http.start do
        http.request_get("/stream") do |response|
          assert_equal "chunked", response["transfer-encoding"]
          response.read_body do |part|
            parts << part
            received_first << true if parts.join == "first\n"
          end
        end
      end
      assert_equal "first\nlast\n", parts.join
      assert_equal :closed, Timeout.timeout(5) { closed.pop }
      assert_equal "", log.to_s
    end
  end

  def test_body_closed_when_the_client_goes_away
    closed = Queue.new
    body = Object.new
    body.define_singleton_method(:each) do |&block|
      loop do
        block.call("x" * 16_384)
        sleep 0.01
      end
    end
    body.define_singleton_method(:close) { closed << :closed }
    app = ->(env) { env["PATH_INFO"] == "/ok" ? [200, {}, ["fine"]] : [200, {}, body] }
    with_rack(app) do |server, _, _|
      conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
      conn.write("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
      assert_match(/\AHTTP\/1.1 200/, conn.readpartial(1000))
      conn.close
      assert_equal :closed, Timeout.timeout(10) { closed.pop }, "body.close called after the client left"
      assert_equal "fine", MTLS.get("https://localhost:#{server.port}/ok", context: client_context).body
    end
  end

  def test_full_hijack
    app = lambda do |env|
      io = env["rack.hijack"].call
      assert_same io, env["rack.hijack_io"]
      io.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
      Thread.new do
        line = io.readpartial(100)
        io.write(line.upcase)
        io.close
      end
      [200, {}, []]
    end
    with_rack(app) do |server, _, _|
      conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
      conn.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
      head = conn.readpartial(1000)
      assert_match(/\AHTTP\/1.1 101 Switching Protocols\r\n/, head)
      conn.write("ping\n")
      assert_equal "PING\n", conn.readpartial(100)
      assert_raises(EOFError) { conn.readpartial(100) }
      conn.close
      assert_equal 0, server.stats[:open], "the hijacked connection is the app's"
    end
  end

  def test_partial_hijack_after_the_head
    app = lambda do |_env|
      [200, { "Content-Type" => "text/plain", "rack.hijack" => lambda do |io|
        io.write("raw bytes")
        io.close
      end }, []]
    end
    with_rack(app) do |server, _, _|
      answer = raw(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
      head, body = answer.split("\r\n\r\n", 2)
      assert_match(/\AHTTP\/1.1 200 OK\r\n/, head)
      assert_includes head, "Content-Type: text/plain"
      refute_match(/Transfer-Encoding|Content-Length/i, head)
      assert_equal "raw bytes", body
    end
  end

  def test_app_exception_is_a_500_and_the_server_goes_on
    app = ->(env) { env["PATH_INFO"] == "/boom" ? raise("kaboom") : [200, {}, ["fine"]] }
    with_rack(app) do |server, log, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.get("/boom")
        assert_equal 500, r.status
        assert_equal "Internal Server Error\n", r.body
        assert_equal "fine", http.get("/ok").body
      end
      assert_match(%r{Rack app error handling GET /boom from 127.0.0.1: RuntimeError: kaboom}, log.to_s)
    end
  end

  def test_bad_response_is_a_500
    app = lambda do |env|
      case env["PATH_INFO"]
      when "/inject" then [200, { "X-Bad" => "a\rb" }, ["no"]]
      when "/status" then [42, {}, ["no"]]
      else [200, {}, ["fine"]]
      end
    end
    with_rack(app) do |server, log, _|
      %w[/inject /status].each do |path|
        r = MTLS.get("https://localhost:#{server.port}#{path}", context: client_context)
        assert_equal 500, r.status, path
      end
      assert_match(/header injection/, log.to_s)
      assert_equal "fine", MTLS.get("https://localhost:#{server.port}/", context: client_context).body
    end
  end

  # The server reuses the head it made for the same headers; an app that
  # changes its headers object, or a value in place, gets the new ones.
  def test_headers_changed_between_responses
    headers = { "Content-Type" => "text/plain", "X-N" => +"1" }
    n = 0
    app = lambda do |_env|
      n += 1
      headers["X-N"].replace(n.to_s) if n == 2
      headers["X-N"] = "3" if n == 3
      headers["X-New"] = "yes" if n == 4
      [200, headers, ["body #{n}"]]
    end
    with_rack(app, max_threads: 1) do |server, _, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        got = Array.new(4) { http.get("/") }
        assert_equal %w[1 2 3 3], got.map { |r| r["x-n"] }
        assert_equal [nil, nil, nil, "yes"], got.map { |r| r["x-new"] }
        assert_equal "body 4", got.last.body
      end
    end
  end

  # A large streamed body with its Content-Length, to a client that reads
  # it while it is written (the socket fills: the writes wait).
  def test_large_streamed_body_with_length
    part = Random.new(7).bytes(256 * 1024)
    body = Enumerator.new { |y| 64.times { y << part } }
    app = ->(_env) { [200, { "Content-Length" => (64 * part.bytesize).to_s }, body] }
    with_rack(app) do |server, log, _|
      r = MTLS.get("https://localhost:#{server.port}/big", context: client_context)
      assert_equal 64 * part.bytesize, r.body.bytesize
      assert_equal Digest::SHA256.hexdigest(part * 64), Digest::SHA256.hexdigest(r.body)
      assert_nil r["transfer-encoding"]
      assert_equal "", log.to_s
    end
  end

  # With one thread, neither a client silent after its TCP connect nor
  # one that sent half a head holds it; the half head gets its 408 when
  # the header timeout passes.
  def test_silent_and_slow_clients_hold_no_thread
    ctx = rack_context(http_limits: { max_body: 0, header_timeout: 1 })
    with_rack(Recorder.new, context: ctx, max_threads: 1) do |server, _, failures|
      silent = TCPSocket.new("127.0.0.1", server.port)
      slow = MTLS::Connection.connect("localhost", server.port, context: client_context)
      slow.write("GET /slow HTTP/1.1\r\nHost: x\r\n")
      sleep 0.3
      Timeout.timeout(5) do
        assert_equal "ok\n", MTLS.get("https://localhost:#{server.port}/", context: client_context).body
      end
      assert_match(%r{\AHTTP/1.1 408 }, Timeout.timeout(5) { slow.readpartial(1000) })
      e = Timeout.timeout(5) { failures.pop }
      assert_equal MTLS::CODES[:TIMEOUT], e.code
    ensure
      silent&.close
      slow&.close
    end
  end

  # With one thread, an idle keep-alive connection holds none: another
  # client is served meanwhile.
  def test_idle_keep_alive_connection_holds_no_thread
    with_rack(Recorder.new, max_threads: 1) do |server, _, _|
      idle = MTLS::HTTP.start("localhost", server.port, context: client_context)
      assert_equal "ok\n", idle.get("/").body
      Timeout.timeout(5) do
        assert_equal "ok\n", MTLS.get("https://localhost:#{server.port}/", context: client_context).body
      end
      assert wait_for { server.stats[:parked] == 1 }, "the idle connection is parked"
      assert_equal "ok\n", idle.get("/again").body, "and served again when it sends"
      idle.finish
    end
  end

  # A busy keep-alive client does not keep the only thread from others.
  def test_busy_keep_alive_client_does_not_starve_others
    with_rack(Recorder.new, max_threads: 1) do |server, _, _|
      stop = false
      busy = Thread.new do
        MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
          http.get("/busy") until stop
        end
      end
      sleep 0.2
      Timeout.timeout(10) do
        3.times { assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: client_context).status }
      end
    ensure
      stop = true
      busy&.join(10)
    end
  end

  def test_graceful_stop_finishes_the_request_under_way
    started = Queue.new
    app = lambda do |_env|
      started << true
      sleep 0.5
      [200, {}, ["done"]]
    end
    log = Log.new
    server = MTLS::RackServer.new(app, context: rack_context, host: "127.0.0.1", port: 0, errors: log)
    runner = Thread.new { server.run }
    idle = MTLS::HTTP.start("localhost", server.port, context: client_context)
    request = Thread.new { MTLS.get("https://localhost:#{server.port}/slow", context: client_context) }
    Timeout.timeout(5) { started.pop }
    server.stop
    response = request.value
    assert_equal "done", response.body
    assert_equal "close", response["connection"]
    assert runner.join(10), "run returned"
    assert_raises(MTLS::Error) { idle.get("/") }
    assert_raises(MTLS::Error, Errno::ECONNREFUSED) do
      MTLS.get("https://localhost:#{server.port}/", context: client_context)
    end
  ensure
    idle&.finish rescue nil # rubocop:disable Style/RescueModifier
  end

  def test_rack_lint_accepts_the_env_and_the_responses
    need_rack
    app = lambda do |env|
      case env["PATH_INFO"]
      when "/post" then [200, { "Content-Type" => "text/plain" }, [env["rack.input"].read]]
      when "/stream" then [200, { "Content-Type" => "text/plain" }, %w[a b c].each]
      when "/lines"
        lines = []
        env["rack.input"].each { |l| lines << l }
        env["rack.input"].rewind
        [200, { "Content-Type" => "text/plain" }, ["#{lines.size} #{env['rack.input'].gets}"]]
      else [204, {}, []]
      end
    end
    with_rack(::Rack::Lint.new(app)) do |server, log, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        assert_equal "body", http.post("/post", "body").body
        assert_equal "abc", http.get("/stream").body
        assert_equal "3 one\n", http.post("/lines", "one\ntwo\nthree").body
        assert_equal 204, http.get("/none").status
        assert_equal 200, http.head("/stream").status
      end
      assert_equal "", log.to_s
    end
  end

  # rack-test's view of an app and the handler's over mTLS are the same.
  def test_same_answers_as_rack_test
    need_rack
    begin
      require "rack/test"
    rescue LoadError
      skip "ruby-rack-test not installed (apt-get install ruby-rack-test)"
    end
    app = ::Rack::Builder.new do
      use ::Rack::ContentLength
      map("/echo") { run ->(env) { [201, { "Content-Type" => "text/plain", "X-Q" => env["QUERY_STRING"] }, [env["rack.input"].read]] } }
      map("/") { run ->(env) { [200, { "Content-Type" => "text/html", "Set-Cookie" => "a=1\nb=2" }, ["<p>#{env['PATH_INFO']}</p>"]] } }
    end.to_app
    session = ::Rack::Test::Session.new(::Rack::MockSession.new(app))
    with_rack(app) do |server, _, _|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        [["GET", "/page", nil], ["POST", "/echo?x=1", "payload"], ["GET", "/echo?y=2", nil]].each do |method, path, body|
          session.request(path, method: method, input: body.to_s)
          expected = session.last_response
          got = http.request(method, path, body)
          assert_equal expected.status, got.status, path
          assert_equal expected.body, got.body, path
          %w[Content-Type Content-Length X-Q].each { |h| assert_equal [expected.headers[h]], [got[h]], "#{path} #{h}" }
          assert_equal expected.headers["Set-Cookie"].to_s.split("\n"), got.get_fields("set-cookie").to_a
        end
      end
    end
  end

  private

  def configure_net_http(http)
    http.use_ssl = true
    http.cert = OpenSSL::X509::Certificate.new(File.read(pki("client.crt")))
    http.key = OpenSSL::PKey.read(File.read(pki("client.key")))
    http.ca_file = pki("ca.crt")
    http.verify_mode = OpenSSL::SSL::VERIFY_PEER
  end
end
