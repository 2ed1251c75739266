# frozen_string_literal: true

require_relative "helper"

class TestThreads < Minitest::Test
  include MTLSTest

  def test_threads_share_one_context
    ctx = client_context
    with_server do |server, _|
      results = Array.new(6) do |i|
        Thread.new do
          MTLS::HTTP.start("localhost", server.port, context: ctx) do |http|
            Array.new(10) { |j| http.get("/#{i}/#{j}").body }
          end
        end
      end.map(&:value)
      results.each_with_index do |bodies, i|
        assert_equal Array.new(10) { |j| "GET /#{i}/#{j} client\n" }, bodies
      end
    end
  end

  def test_timeout_interrupts_a_blocked_read_and_gvl_is_released
    with_silent_server do |server, _|
      conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
      ticks = 0
      ticker = Thread.new { loop { ticks += 1; sleep 0.01 } }
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      assert_raises(Timeout::Error) { Timeout.timeout(0.5) { conn.readpartial(10) } }
      elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
      ticker.kill
      assert_operator elapsed, :<, 2, "Timeout.timeout ended the read"
      assert_operator ticks, :>, 10, "other threads ran while the read waited"
      e = assert_raises(::IOError) { conn.readpartial(10) }
      assert_match(/unusable after Timeout::Error/, e.message)
      conn.close
      assert conn.closed?
    end
  end

  def test_thread_kill_and_close_from_another_thread
    with_silent_server do |server, _|
      conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
      reader = Thread.new { conn.readpartial(10) }
      sleep 0.2
      reader.kill
      assert reader.join(2), "Thread#kill ended the blocked read"
      conn.close
      conn2 = MTLS::Connection.connect("localhost", server.port, context: client_context)
      reader = Thread.new do
        conn2.readpartial(10)
      rescue ::IOError => e
        e
      end
      sleep 0.2
      conn2.close
      assert reader.join(2), "close from another thread woke the read"
      assert_kind_of Exception, reader.value
    end
  end

  def test_read_timeout
    with_silent_server do |server, _|
      e = assert_raises(MTLS::ReadTimeout) do
        MTLS::HTTP.start("localhost", server.port, context: client_context,
                                                   read_timeout: 0.3) { |h| h.get("/") }
      end
      assert_equal MTLS::CODES[:TIMEOUT], e.code
      assert_match(/timed out after 300 ms/, e.message)
    end
  end

  def test_gc_under_load_frees_connections
    ctx = client_context
    with_server do |server, _|
      sockets = open_sockets
      200.times do |i|
        conn = MTLS::Connection.connect("localhost", server.port, context: ctx)
        conn.write("GET /#{i} HTTP/1.1\r\nHost: x\r\n\r\n") if i.even?
        # dropped without close
      end
      200.times { MTLS::HTTP.new("localhost", server.port, context: ctx).get("/") }
      3.times { GC.start(full_mark: true, immediate_sweep: true) }
      # The server's threads then see each client go and close their ends;
      # on a loaded machine that takes more than a moment.
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
      sleep 0.1 until open_sockets < sockets + 20 ||
                      Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
      assert_operator open_sockets, :<, sockets + 20, "sockets of forgotten connections closed by GC"
      assert_equal 200, MTLS.get("https://localhost:#{server.port}/", context: ctx).status
    end
  end

  def test_forked_child_never_ends_parents_session
    skip "no fork" unless Process.respond_to?(:fork)
    server = MTLS::Server.new("127.0.0.1", 0, context: server_context)
    t = Thread.new do
      c = server.accept
      out = []
      while (data = (c.readpartial(100) rescue nil))
        out << data
        c.write("pong:#{data}")
      end
      out
    ensure
      c&.close
    end
    conn = MTLS::Connection.connect("localhost", server.port, context: client_context)
    conn.write("1")
    assert_equal "pong:1", conn.readpartial(100)
    pid = fork do
      conn.close # in the child: freed, no close_notify
      GC.start
      exit!(0)
    end
    Process.wait(pid)
    assert_equal 0, $?.exitstatus
    conn.write("2")
    assert_equal "pong:2", conn.readpartial(100), "parent's session survives the child"
    conn.close
    assert_equal %w[1 2], t.value
  ensure
    server&.close
  end
end
