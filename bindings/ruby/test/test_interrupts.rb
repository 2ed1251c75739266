# frozen_string_literal: true

require_relative "helper"
require "rbconfig"
require "tempfile"

# Signals and calls blocked in libmtls on a child process's main thread:
# Ctrl-C ends them at once; a signal whose trap does not raise ends
# nothing, and the call goes on to return what comes afterwards.  SIGTERM
# is one of the signals that end a wait (MTLS::INTERRUPT_SIGNALS): with a
# trap that does not raise, the call is made again.  SIGUSR1 and SIGCHLD
# are not: they wait until the call is over.
class TestInterrupts < Minitest::Test
  include MTLSTest

  LIB = File.expand_path("../lib", __dir__)
  BIG = 16 << 20 # more than the socket buffers hold

  # The child: connects to the test's server (ARGV: mode, port), says
  # "ready" just before it blocks, and reports on stdout.  Exit 42: an
  # Interrupt ended the call; 0: the call returned normally.
  CHILD = <<~'RUBY'
    require "mtls"
    $stdout.sync = true
    # A shell's background jobs start with SIGINT ignored; Ruby keeps that.
    Signal.trap("INT", "DEFAULT")
    Signal.trap("TERM") { puts "trapped" }
    Signal.trap("USR1") { puts "usr1" }
    mode, port = ARGV
    pki = ->(f) { File.join(ENV.fetch("PKI_DIR"), f) }
    ctx = MTLS::Context.new(cert: pki.("client.crt"), key: pki.("client.key"),
                            ca_file: pki.("ca.crt"), io_timeout: 30)
    begin
      case mode
      when "read"
        conn = MTLS::Connection.connect("localhost", port, context: ctx)
        puts "ready"
        puts "got #{conn.readpartial(100)}"
      when "write"
        conn = MTLS::Connection.connect("localhost", port, context: ctx)
        data = ((0...251).map(&:chr).join.b * ((16 << 20) / 251 + 1))[0, 16 << 20]
        puts "ready"
        puts "wrote #{conn.write(data)}"
        # Until the test has read it all: closing a socket with unread
        # input (the session ticket) would reset the connection.
        puts "then #{conn.readpartial(100)}"
      when "http"
        http = MTLS::HTTP.new("localhost", port, context: ctx)
        http.start
        puts "ready"
        puts "got #{http.get('/').status}"
      when "post_child"
        http = MTLS::HTTP.new("localhost", port, context: ctx)
        http.start
        Thread.new { sleep 0.3; Process.wait(spawn("true")); puts "reaped" }
        response = http.post("/slow", "body")
        puts "got #{response.status} #{response.body}"
      when "get", "post"
        http = MTLS::HTTP.new("localhost", port, context: ctx)
        http.start
        puts "ready"
        response = mode == "get" ? http.get("/slow") : http.post("/slow", "body")
        puts "got #{response.status} #{response.body}"
      when "serve"
        server = MTLS::Server.new("127.0.0.1", 0, context: MTLS::Context.new(
          cert: pki.("server.crt"), key: pki.("server.key"), ca_file: pki.("ca.crt")))
        puts "port #{server.port}"
        puts "ready"
        # One connection served on the main thread, where signals land
        # (Server#serve would serve it on a thread of its own).
        app = ->(req, _peer) { [200, {}, "served #{req.body}"] }
        server.send(:serve_connection, server.accept, app, ->(e) { puts "error #{e.message}" })
      when "accept"
        server = MTLS::Server.new("127.0.0.1", 0, context: MTLS::Context.new(
          cert: pki.("server.crt"), key: pki.("server.key"), ca_file: pki.("ca.crt")))
        puts "port #{server.port}"
        puts "ready"
        conn = server.accept
        conn.write("hello")
        puts "accepted"
        conn.close
      end
      exit 0
    rescue Interrupt
      puts "interrupted"
      exit 42
    rescue MTLS::InterruptedError => e
      puts "error #{e.class}: #{e.message}"
      exit 3
    end
  RUBY

  # Runs the child in mode; yields its pid and a line reader.
  def with_child(mode, port = 0)
    out, child_out = IO.pipe
    err = Tempfile.new("mtls-child")
    pid = Process.spawn(RbConfig.ruby, "-I", LIB, "-e", CHILD, mode, port.to_s,
                        out: child_out, err: err.path, in: File::NULL)
    child_out.close
    lines = Queue.new
    reader = Thread.new { out.each_line { |l| lines << l.chomp } }
    yield pid, ->(timeout = 10) { next_line(lines, timeout, err) }
  ensure
    if pid
      Process.kill("KILL", pid) rescue nil # rubocop:disable Style/RescueModifier
      Process.wait(pid) rescue nil # rubocop:disable Style/RescueModifier
    end
    reader&.join(2)
    out&.close
    err&.close!
  end

  def next_line(lines, timeout, err)
    Timeout.timeout(timeout) { lines.pop }
  rescue Timeout::Error
    flunk "the child said nothing within #{timeout} s; its stderr: #{File.read(err.path)}"
  end

  # Waits for pid; returns [status, seconds], or fails after limit.
  def wait_exit(pid, limit)
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    loop do
      _, status = Process.wait2(pid, Process::WNOHANG)
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      return [status, elapsed] if status

      flunk "the child had not exited #{limit} s after the signal" if elapsed > limit
      sleep 0.02
    end
  end

  # Sends SIGTERM; the child's trap handler says "trapped".  Ruby runs it
  # on the main thread only once the blocked call has returned, so it
  # also shows that the signal interrupted the call.
  def signal_and_await_trap(pid, line)
    Process.kill("TERM", pid)
    assert_equal "trapped", line.call(5), "the trap handler ran while the call was blocked"
  end

  def assert_ctrl_c_ends(mode)
    with_silent_server do |server, _|
      with_child(mode, server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.3 # into the blocking call
        Process.kill("INT", pid)
        status, elapsed = wait_exit(pid, 5)
        assert_equal "interrupted", line.call, "Interrupt was raised in the child"
        assert_equal 42, status.exitstatus
        assert_operator elapsed, :<, 2, "Ctrl-C ended the #{mode} at once, not after its 30 s timeout"
      end
    end
  end

  def test_ctrl_c_ends_a_read_on_the_main_thread
    assert_ctrl_c_ends("read")
  end

  def test_ctrl_c_ends_an_http_request_on_the_main_thread
    assert_ctrl_c_ends("http")
  end

  def test_trapped_signal_does_not_end_a_read
    with_silent_server do |server, accepted|
      with_child("read", server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.3
        signal_and_await_trap(pid, line)
        signal_and_await_trap(pid, line)
        sleep 0.2
        assert_nil Process.wait(pid, Process::WNOHANG), "the read goes on after the trap"
        Timeout.timeout(5) { accepted.pop }.write("late")
        assert_equal "got late", line.call, "the same read returned the data sent afterwards"
        status, = wait_exit(pid, 5)
        assert_equal 0, status.exitstatus
      end
    end
  end

  def test_trapped_signal_does_not_end_a_write
    with_silent_server do |server, accepted|
      with_child("write", server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.5 # the socket buffers fill up: the write waits
        signal_and_await_trap(pid, line)
        conn = Timeout.timeout(5) { accepted.pop }
        data = String.new(encoding: Encoding::BINARY)
        data << conn.readpartial(65_536) while data.bytesize < BIG
        assert_equal "wrote #{BIG}", line.call(10)
        conn.write("done")
        assert_equal "then done", line.call
        assert_equal BIG, data.bytesize
        expected = ((0...251).map(&:chr).join.b * (BIG / 251 + 1))[0, BIG]
        assert data == expected, "every byte arrived once, in order"
      end
    end
  end

  # An HTTP server whose first answer takes a second; counts requests.
  def with_slow_first_answer
    count = 0
    lock = Mutex.new
    app = lambda do |req, _peer|
      n = lock.synchronize { count += 1 }
      sleep 1 if n == 1
      [200, {}, "#{req.method} #{n}"]
    end
    with_server(app: app) { |server, _| yield server, -> { lock.synchronize { count } } }
  end

  # A GET cut by a signal whose trap does not raise goes on where it
  # stopped: the server gets it once.
  def test_trapped_signal_resumes_a_get
    with_slow_first_answer do |server, requests|
      with_child("get", server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.3
        signal_and_await_trap(pid, line)
        assert_equal "got 200 GET 1", line.call
        assert_equal 1, requests.call
        status, = wait_exit(pid, 5)
        assert_equal 0, status.exitstatus
      end
    end
  end

  # A POST too: resumed, not sent twice.
  def test_trapped_signal_resumes_a_post
    with_slow_first_answer do |server, requests|
      with_child("post", server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.3
        signal_and_await_trap(pid, line)
        assert_equal "got 200 POST 1", line.call
        assert_equal 1, requests.call
        status, = wait_exit(pid, 5)
        assert_equal 0, status.exitstatus
      end
    end
  end

  # A signal that is not one of INTERRUPT_SIGNALS waits for the call: its
  # trap runs once the read has returned the data sent afterwards.
  def test_other_signal_waits_for_the_read
    with_silent_server do |server, accepted|
      with_child("read", server.port) do |pid, line|
        assert_equal "ready", line.call
        sleep 0.3
        2.times { Process.kill("USR1", pid) }
        sleep 0.5
        assert_nil Process.wait(pid, Process::WNOHANG), "the read goes on"
        Timeout.timeout(5) { accepted.pop }.write("late")
        said = [line.call, line.call]
        assert_includes said, "got late", "the same read returned the data sent afterwards"
        assert_includes said, "usr1", "the trap ran after the read"
        status, = wait_exit(pid, 5)
        assert_equal 0, status.exitstatus
      end
    end
  end

  # Ruby catches SIGCHLD: a child process ending while a POST waits for
  # its answer must not fail the POST.
  def test_child_process_ending_does_not_fail_a_post
    with_slow_first_answer do |server, requests|
      with_child("post_child", server.port) do |pid, line|
        said = [line.call, line.call]
        assert_includes said, "reaped"
        assert_includes said, "got 200 POST 1"
        assert_equal 1, requests.call
        status, = wait_exit(pid, 5)
        assert_equal 0, status.exitstatus
      end
    end
  end

  # Serving a connection (Server#serve's loop for one) while a trapped
  # signal comes goes on with the same request.
  def test_trapped_signal_does_not_cut_a_request_being_served
    with_child("serve") do |pid, line|
      port = line.call[/\Aport (\d+)\z/, 1].to_i
      assert_equal "ready", line.call
      conn = MTLS::Connection.connect("localhost", port, context: client_context)
      conn.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbo")
      sleep 0.3
      signal_and_await_trap(pid, line)
      conn.write("dy")
      answer = conn.readpartial(1000)
      assert_match(/\AHTTP\/1.1 200 /, answer)
      assert answer.end_with?("served body"), answer
      conn.close
      status, = wait_exit(pid, 5)
      assert_equal 0, status.exitstatus
    end
  end

  def test_trapped_signal_does_not_end_an_accept
    with_child("accept") do |pid, line|
      port = line.call[/\Aport (\d+)\z/, 1].to_i
      assert_equal "ready", line.call
      sleep 0.3
      signal_and_await_trap(pid, line)
      conn = MTLS::Connection.connect("localhost", port, context: client_context)
      assert_equal "hello", conn.readpartial(10)
      assert_equal "accepted", line.call
      conn.close
      status, = wait_exit(pid, 5)
      assert_equal 0, status.exitstatus
    end
  end

  # Thread#raise on a thread blocked in a read: the signal Ruby sends it
  # ends the wait, and the thread gets the exception raised, not an
  # MTLS error.
  def test_thread_raise_ends_a_blocked_read_with_its_exception
    with_silent_server do |server, _|
      conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
      reader = Thread.new do
        conn.readpartial(10)
      rescue ArgumentError => e
        e
      end
      sleep 0.2
      reader.raise(ArgumentError, "stop")
      assert reader.join(2), "Thread#raise ended the read"
      assert_equal "stop", reader.value.message
      conn.close
    end
  end

  def test_interrupted_code_maps_to_its_class
    assert_equal 28, MTLS::CODES[:INTERRUPTED]
    assert_equal "MTLS_ERR_INTERRUPTED", MTLS::Native.mtls_error_name(28)
    assert_equal MTLS::InterruptedError, MTLS::ERROR_CLASSES[28]
    assert_operator MTLS::InterruptedError, :<, MTLS::ConnectionError
  end
end
