# frozen_string_literal: true

module MTLS
  class RackServer
    # Where connections wait without a thread, as in Puma's reactor: a
    # client whose handshake or next request has not begun is parked here
    # (libmtls said MTLS_WANT_POLLIN), one thread selects on all of them,
    # and each that becomes readable goes back to the pool.  One whose
    # deadline passes goes to the pool too, where libmtls's next call on
    # it ends it as its timeout says.
    class Reactor
      def initialize(pool)
        @pool = pool
        @lock = Mutex.new
        @adds = []
        @parked = {}.compare_by_identity # IO => Client
        @stopping = false
        @wake_r, @wake_w = IO.pipe
        @thread = Thread.new do
          Thread.current.name = "mtls-rack reactor"
          run
        end
      end

      # Parks client (its #io and #deadline set) until it is readable.
      def add(client)
        @lock.synchronize do
          return false if @stopping

          @adds << client
        end
        wake
        true
      end

      def size
        @parked.size + @adds.size
      end

      # Ends the loop; returns the clients that were parked (their owner
      # now the caller).
      def stop
        @lock.synchronize { @stopping = true }
        wake
        @thread.join
        left = @parked.values + @adds
        @parked.clear
        @adds.clear
        @wake_r.close
        @wake_w.close
        left
      end

      private

      def wake
        @wake_w.write_nonblock(".", exception: false)
      rescue IOError
        nil # closed: stopped already
      end

      def clock
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end

      def run
        until @lock.synchronize { take_adds; @stopping }
          ready = select_ready
          ready&.each do |io|
            if io.equal?(@wake_r)
              @wake_r.read_nonblock(4096, exception: false)
            elsif (client = @parked.delete(io))
              @pool << client
            end
          end
          expire
        end
      end

      # Called with the lock held.
      def take_adds
        @adds.each { |c| @parked[c.io] = c }
        @adds.clear
      end

      def select_ready
        timeout = nil
        unless @parked.empty?
          soonest = @parked.each_value.min_by(&:deadline).deadline
          timeout = [soonest - clock, 0].max if soonest.finite?
        end
        IO.select([@wake_r, *@parked.keys], nil, nil, timeout)&.first
      rescue IOError, Errno::EBADF
        # A parked descriptor went bad: its client is ended as expired.
        @parked.each_value { |c| c.deadline = 0 }
        nil
      end

      def expire
        now = clock
        @parked.delete_if do |_io, client|
          next false if client.deadline > now

          @pool << client
          true
        end
      end
    end
  end
end
