# frozen_string_literal: true

require_relative "rack_helper"

# Rack::Handler::MTLS with the clients and frameworks people use: curl,
# Net::HTTP as the seed article wires it, Faraday, `rackup -s mtls` with a
# config.ru, a Sinatra app; and its failures: a bad certificate option, a
# client the allow-list refuses.
class TestRackInterop < Minitest::Test
  include RackTest

  WHO = lambda do |env|
    [200, { "Content-Type" => "text/plain" },
     ["#{env['SSL_CLIENT_VERIFY']} #{env['SSL_CLIENT_S_DN']} #{env['REQUEST_METHOD']} #{env['PATH_INFO']}\n"]]
  end

  def pki_options(**extra)
    { cert: pki("server.crt"), key: pki("server.key"), ca_file: pki("ca.crt"), **extra }
  end

  def test_curl_keep_alive_and_head
    with_handler(WHO, **pki_options) do |server, _|
      url = "https://localhost:#{server.port}"
      status, out, err = curl("#{url}/one", "#{url}/two")
      assert_equal 0, status, err
      dn = "CN=client,OU=testers,O=libmtls test"
      assert_equal "SUCCESS #{dn} GET /one\nSUCCESS #{dn} GET /two\n", out
      assert_equal 1, server.stats[:connections], "curl kept the connection alive"
      status, out, err = curl("-I", "#{url}/head")
      assert_equal 0, status, err
      assert_match(%r{\AHTTP/1.1 200 OK\r\n}, out)
      assert_match(/^Content-Length: #{"SUCCESS #{dn} HEAD /head\n".bytesize}\r$/, out)
    end
  end

  # The seed article's Net::HTTP client (its own CA and certificates).
  def test_net_http_seed_client
    seed = ->(f) { pki("seed/#{f}") }
    with_handler(WHO, cert: seed.("server.crt"), key: seed.("server.key"), ca_file: seed.("ca.crt")) do |server, _|
      http = Net::HTTP.new("localhost", server.port)
      http.use_ssl = true
      http.cert = OpenSSL::X509::Certificate.new(File.read(seed.("client.crt")))
      http.key = OpenSSL::PKey::RSA.new(File.read(seed.("client.key")))
      http.ca_file = seed.("ca.crt")
      http.verify_mode = OpenSSL::SSL::VERIFY_PEER
      http.start do
        2.times do |i|
          response = http.request(Net::HTTP::Get.new("/n#{i}"))
          assert_equal "200", response.code
          assert_equal "SUCCESS CN=client GET /n#{i}\n", response.body
        end
      end
      assert_equal 1, server.stats[:connections], "Net::HTTP kept the connection alive"
    end
  end

  def test_faraday_client
    begin
      require "faraday"
    rescue LoadError
      skip "ruby-faraday not installed (apt-get install ruby-faraday)"
    end
    with_handler(WHO, **pki_options) do |server, _|
      ssl = { client_cert: OpenSSL::X509::Certificate.new(File.read(pki("client.crt"))),
              client_key: OpenSSL::PKey.read(File.read(pki("client.key"))),
              ca_file: pki("ca.crt"), verify: true }
      conn = Faraday.new(url: "https://localhost:#{server.port}", ssl: ssl)
      response = conn.post("/form", "a=1")
      assert_equal 200, response.status
      assert_equal "SUCCESS CN=client,OU=testers,O=libmtls test POST /form\n", response.body
    end
  end

  def test_sinatra_app_reads_the_client_identity
    need_rack
    begin
      require "sinatra/base"
    rescue LoadError
      skip "ruby-sinatra not installed (apt-get install ruby-sinatra)"
    end
    app = Class.new(Sinatra::Base) do
      set :environment, :test
      get("/whoami") { "#{request.env['SSL_CLIENT_S_DN']} #{request.ssl?}" }
      post("/echo") { request.body.read.upcase }
    end
    with_handler(app, **pki_options) do |server, log|
      MTLS::HTTP.start("localhost", server.port, context: client_context) do |http|
        r = http.get("/whoami")
        assert_equal 200, r.status
        assert_equal "CN=client,OU=testers,O=libmtls test true", r.body
        assert_equal "HELLO", http.post("/echo", "hello").body
      end
      assert_equal "", log.to_s
    end
  end

  # rackup -s mtls with a config.ru (development: rackup adds Rack::Lint
  # and a log line per request), stopped by SIGTERM.
  def test_rackup_s_mtls_end_to_end
    need_rack
    rackup = need_program("rackup", "RACKUP_BIN")
    Dir.mktmpdir("mtls-rackup") do |dir|
      File.write("#{dir}/config.ru", <<~RU)
        run lambda { |env|
          [200, { "Content-Type" => "text/plain" },
           ["\#{env['SSL_CLIENT_VERIFY']} \#{env['SSL_CLIENT_S_DN_CN']} \#{env['rack.url_scheme']}\\n"]]
        }
      RU
      args = [RbConfig.ruby, rackup, "-I", LIB, "-s", "mtls", "-o", "127.0.0.1", "-p", "0",
              "-O", "cert=#{pki('server.crt')}", "-O", "key=#{pki('server.key')}",
              "-O", "ca_file=#{pki('ca.crt')}", "-O", "allow_cn=client,other", "-O", "threads=0:3",
              "#{dir}/config.ru"]
      out_r, out_w = IO.pipe
      pid = Process.spawn(*args, out: out_w, err: "#{dir}/err", in: File::NULL)
      out_w.close
      port = nil
      Timeout.timeout(20) do
        port = out_r.gets.to_s[/\Alistening on 127\.0\.0\.1:(\d+)/, 1] until port || out_r.eof?
      end
      assert port, "rackup said where it listens; its stderr: #{File.read("#{dir}/err")}"
      status, out, err = curl("https://localhost:#{port}/")
      assert_equal 0, status, err
      assert_equal "SUCCESS client https\n", out
      status, = curl("https://localhost:#{port}/", cert: "client-ou")
      refute_equal 0, status, "payment-service is not on the allow-list"
      Process.kill("TERM", pid)
      _, st = Timeout.timeout(20) { Process.wait2(pid) }
      pid = nil
      assert st.success?, "rackup stopped cleanly on SIGTERM: #{st.inspect}"
      log = File.read("#{dir}/err")
      assert_match(%r{"GET / HTTP/1.1" 200}, log, "rackup's access log")
      assert_match(/payment-service/, log, "the refused client, in the error log")
    ensure
      if pid
        Process.kill("KILL", pid)
        Process.wait(pid)
      end
      out_r&.close
    end
  end

  def test_bad_certificate_option_names_option_and_file
    need_rack
    e = assert_raises(MTLS::ConfigError) do
      ::Rack::Handler::MTLS.server(WHO, **pki_options(cert: "/nonexistent/server.crt"), Port: 0)
    end
    assert_equal "Rack::Handler::MTLS: cert=/nonexistent/server.crt: no such file", e.message
    e = assert_raises(MTLS::ConfigError) do
      ::Rack::Handler::MTLS.server(WHO, **pki_options(key: pki("not-pem.txt")), Port: 0)
    end
    assert_match(/\ARack::Handler::MTLS: key=#{Regexp.escape(pki('not-pem.txt'))}: /, e.message)
    e = assert_raises(ArgumentError) { ::Rack::Handler::MTLS.server(WHO, cert: pki("server.crt"), Port: 0) }
    assert_match(/ca_file=/, e.message)
    e = assert_raises(ArgumentError) { ::Rack::Handler::MTLS.server(WHO, **pki_options, alow_cn: "x", Port: 0) }
    assert_match(/unknown option\(s\) alow_cn/, e.message)
    e = assert_raises(ArgumentError) { ::Rack::Handler::MTLS.server(WHO, **pki_options, threads: "a:b", Port: 0) }
    assert_match(/threads=a: not a whole number/, e.message)
  end

  def test_allow_list_refuses_a_client_and_serves_the_others
    need_rack
    failures = Queue.new
    with_handler(WHO, **pki_options(allow_cn: "client"), on_error: ->(e) { failures << e }) do |server, _|
      ctx = MTLS::Context.new(cert: pki("client-ou.crt"), key: pki("client-ou.key"), ca_file: pki("ca.crt"))
      assert_raises(MTLS::Error) { MTLS.get("https://localhost:#{server.port}/", context: ctx) }
      e = Timeout.timeout(5) { failures.pop }
      assert_kind_of MTLS::VerifyError, e
      assert_equal MTLS::CODES[:NOT_ALLOWED], e.code
      assert_match(/payment-service/, e.message)
      r = MTLS.get("https://localhost:#{server.port}/ok", context: client_context)
      assert_equal "SUCCESS CN=client,OU=testers,O=libmtls test GET /ok\n", r.body
    end
  end
end
