# frozen_string_literal: true

module MTLS
  class RackServer
    # Puma's thread pool, in small: between min and max threads, spawned
    # when work waits and none is idle, and ended after IDLE_TRIM seconds
    # idle while more than min run.  Work beyond max waits in a queue
    # (#backlog).  Each thread gets a Scratch of its own, passed with the
    # work to the block.
    class Pool
      IDLE_TRIM = 30 # seconds, as Puma's auto_trim_time

      attr_reader :min, :max, :spawned

      def initialize(min, max, name: "mtls-rack", &block)
        raise ArgumentError, "threads: max must be at least 1" if max < 1
        raise ArgumentError, "threads: min (#{min}) is over max (#{max})" if min > max

        @min = min
        @max = max
        @name = name
        @block = block
        @todo = []
        @spawned = 0
        @waiting = 0
        @shutdown = false
        @threads = []
        @mutex = Mutex.new
        @not_empty = ConditionVariable.new
        @not_full = ConditionVariable.new
        @mutex.synchronize { min.times { spawn_thread } }
      end

      # Queues work; a thread is spawned for it when none is idle.
      def <<(work)
        @mutex.synchronize do
          raise ClosedQueueError, "the pool is shut down" if @shutdown

          @todo << work
          spawn_thread if @waiting < @todo.size && @spawned < @max
          @not_empty.signal
        end
        self
      end

      # Work waiting for a thread (read without the lock: a hint).
      def backlog
        @todo.size
      end

      # Threads at work, plus work waiting for one.
      def busy
        @spawned - @waiting + @todo.size
      end

      # Blocks until a thread could take new work (as Puma's acceptor does
      # before it accepts), the pool is shut down, or the block (asked
      # twice a second) says to stop waiting.
      def wait_until_not_full
        @mutex.synchronize do
          @not_full.wait(@mutex, 0.5) while !@shutdown && busy >= @max && !yield
        end
      end

      # Lets the threads end once the queue is empty; waits up to timeout
      # seconds for them.  Returns the threads still running.
      def shutdown(timeout)
        threads = @mutex.synchronize do
          @shutdown = true
          @not_empty.broadcast
          @not_full.broadcast
          @threads.dup
        end
        deadline = clock + timeout
        threads.reject { |t| t.join([deadline - clock, 0].max) }
      end

      private

      def clock
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end

      # Called with the lock held.
      def spawn_thread
        @spawned += 1
        thread = Thread.new(@spawned) do |n|
          Thread.current.name = "#{@name} #{n}"
          work_loop(Scratch.new)
        end
        @threads << thread
      end

      def work_loop(scratch)
        while (work = next_work)
          @block.call(work, scratch)
        end
      ensure
        @mutex.synchronize do
          @threads.delete(Thread.current)
          @not_full.signal
        end
      end

      # The next work, or nil when this thread should end.
      def next_work
        @mutex.synchronize do
          while @todo.empty?
            if @shutdown
              @spawned -= 1
              return nil
            end
            @waiting += 1
            @not_full.signal
            since = clock
            @not_empty.wait(@mutex, IDLE_TRIM)
            @waiting -= 1
            if @todo.empty? && @spawned > @min && clock - since >= IDLE_TRIM
              @spawned -= 1
              return nil
            end
          end
          @todo.shift
        end
      end
    end

    # What a pool thread reuses from one request to the next: the
    # out-parameters and buffers handed to libmtls.
    class Scratch
      BUF = 64 * 1024
      HEADERS = 8 * 1024
      SLOTS = 128
      WIDE = FFI::Pointer.size == 8

      attr_reader :req_out, :pair, :value_out, :buf
      # The last response's headers and their Head (Response#head_for).
      attr_accessor :last_head

      def initialize
        @req_out = FFI::MemoryPointer.new(:pointer)
        @pair = FFI::MemoryPointer.new(:pointer, 2)
        @value_out = @pair + FFI::Pointer.size
        @buf = FFI::MemoryPointer.new(:uint8, BUF)
        @head_bytes = FFI::MemoryPointer.new(:uint8, HEADERS)
        @head_slots = FFI::MemoryPointer.new(:pointer, SLOTS + 1)
        @head_base = @head_bytes.address
      end

      # The response headers as libmtls takes them (a NULL-terminated
      # char *[]), from "Name: value" lines; nil for none.  Valid until the
      # next call on this Scratch.
      def header_array(lines)
        return nil if lines.empty?
        return @head_slots if lines.equal?(@last_lines) # as made last time

        @last_lines = nil
        blob = lines.join("\0") << "\0"
        raise ArgumentError, "a response header holds a NUL byte" if blob.count("\0") != lines.size

        grow(blob.bytesize, lines.size)
        @head_bytes.put_bytes(0, blob)
        addresses = Array.new(lines.size + 1, 0)
        offset = 0
        lines.each_with_index do |line, i|
          addresses[i] = @head_base + offset
          offset += line.bytesize + 1
        end
        if WIDE
          @head_slots.put_array_of_uint64(0, addresses)
        else
          @head_slots.put_array_of_uint32(0, addresses)
        end
        @last_lines = lines if lines.frozen?
        @head_slots
      end

      private

      def grow(bytes, count)
        if bytes > @head_bytes.size
          @head_bytes = FFI::MemoryPointer.new(:uint8, bytes)
          @head_base = @head_bytes.address
        end
        return if count + 1 <= @head_slots.size / FFI::Pointer.size

        @head_slots = FFI::MemoryPointer.new(:pointer, count + 1)
      end
    end
  end
end
