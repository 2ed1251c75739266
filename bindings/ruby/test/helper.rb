# frozen_string_literal: true

# Shared by the tests: the PKI made by tests/pki/make-pki.sh (PKI_DIR), the
# mtls-server example (MTLS_SERVER), and the library under test
# (LIBMTLS_PATH, set by tests/ruby_binding.sh to the build tree's).
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "socket"
require "timeout"
require "mtls"

module MTLSTest
  PKI = ENV.fetch("PKI_DIR") { abort "PKI_DIR: run tests/pki/make-pki.sh and point PKI_DIR at it" }

  def pki(name)
    File.join(PKI, name)
  end

  def server_context(**opts)
    MTLS::Context.new(cert: pki("server.crt"), key: pki("server.key"),
                      ca_file: pki("ca.crt"), **opts)
  end

  def client_context(**opts)
    MTLS::Context.new(cert: pki("client.crt"), key: pki("client.key"),
                      ca_file: pki("ca.crt"), **opts)
  end

  # An HTTP server of the binding on a free port, answering with the block
  # (default: the peer's CN); yields the server, collects its errors.
  def with_server(context: server_context, app: nil)
    app ||= ->(req, peer) { [200, { "Content-Type" => "text/plain" }, "#{req.method} #{req.target} #{peer.common_name}\n"] }
    server = MTLS::Server.new("127.0.0.1", 0, context: context)
    errors = Queue.new
    thread = Thread.new { server.serve(on_error: ->(e) { errors << e }, &app) }
    yield server, errors
  ensure
    server&.close
    thread&.join(10)
  end

  # A server that completes each handshake and then says nothing; the
  # accepted connections come out of the queue.
  def with_silent_server
    server = MTLS::Server.new("127.0.0.1", 0, context: server_context)
    accepted = Queue.new
    t = Thread.new do
      while (c = server.accept)
        begin
          c.handshake
          accepted << c
        rescue MTLS::Error
          c.close
        end
      end
    end
    yield server, accepted
  ensure
    server&.close
    t&.join(5)
    accepted.size.times { accepted.pop.close } if accepted
  end

  # Waits up to 5 s for an error the server reported.
  def server_error(errors)
    Timeout.timeout(5) { errors.pop }
  end

  def free_port
    s = TCPServer.new("127.0.0.1", 0)
    s.addr[1]
  ensure
    s&.close
  end

  # Runs examples/mtls-server with ARGS on a free port; yields the port.
  def with_mtls_server(*args)
    bin = ENV["MTLS_SERVER"]
    skip "MTLS_SERVER not set" if bin.nil? || bin.empty?
    port = free_port
    out = IO.pipe
    pid = Process.spawn(bin, "--listen", "127.0.0.1:#{port}", *args,
                        out: out[1], err: File::NULL, in: File::NULL)
    out[1].close
    Timeout.timeout(10) { nil until out[0].gets.to_s.include?("listening on") }
    yield port
  ensure
    if pid
      Process.kill("TERM", pid)
      Process.wait(pid)
    end
    out&.first&.close
  end

  # Runs nginx (NGINX_BIN) on a free port with the server block's
  # directives (listen is given); yields the port.
  def with_nginx(directives)
    nginx = ENV["NGINX_BIN"].to_s
    skip "nginx not found" if nginx.empty? || !File.executable?(nginx)
    require "tmpdir"
    Dir.mktmpdir("mtls-ruby-nginx") do |dir|
      port = free_port
      File.write("#{dir}/nginx.conf", <<~CONF)
        daemon off; master_process off; worker_processes 1;
        pid #{dir}/nginx.pid; error_log #{dir}/error.log;
        events { worker_connections 64; }
        http {
          access_log off;
          client_body_temp_path #{dir}/body; proxy_temp_path #{dir}/proxy;
          fastcgi_temp_path #{dir}/fcgi; uwsgi_temp_path #{dir}/uwsgi; scgi_temp_path #{dir}/scgi;
          server {
            listen 127.0.0.1:#{port} ssl;
            #{directives}
          }
        }
      CONF
      pid = Process.spawn(nginx, "-p", "#{dir}/", "-c", "#{dir}/nginx.conf", "-e", "#{dir}/error.log",
                          out: File::NULL, err: File::NULL)
      begin
        Timeout.timeout(10) do
          begin
            TCPSocket.new("127.0.0.1", port).close
          rescue SystemCallError
            sleep 0.05
            retry
          end
        end
        yield port
      ensure
        Process.kill("TERM", pid)
        Process.wait(pid)
      end
    end
  end

  # Sockets this process has open.  (Not all descriptors: a thread that
  # blocked in the library holds an eventfd for mtls_wake until it ends,
  # and Ruby keeps ended threads' native threads for a few seconds.)
  def open_sockets
    Dir.children("/proc/self/fd").count do |fd|
      File.readlink("/proc/self/fd/#{fd}").start_with?("socket:")
    rescue SystemCallError
      false
    end
  end
end
