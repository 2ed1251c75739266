# frozen_string_literal: true

module MTLS
  # Makes Thread#raise (Timeout.timeout) and Thread#kill reach a thread
  # that waits inside libmtls.
  #
  # A blocking call releases the GVL; Ruby then interrupts it by sending the
  # thread a signal, but libmtls retries poll() on EINTR, so the call would
  # go on waiting until its own timeout.  Each blocking call therefore
  # registers its object here; while any is registered a watcher thread
  # looks every few milliseconds for threads with a pending interrupt and
  # calls mtls_wake() on their object, which makes the call return
  # MTLS_ERR_WOKEN at once.  Ruby then delivers the interrupt.
  module Interrupt
    POLL = 0.01 # seconds between looks

    @lock = Mutex.new
    @busy = ConditionVariable.new
    @calls = {}.compare_by_identity # Thread => pointer in use by it
    @watcher = nil
    @watcher_pid = nil

    class << self
      # Runs the block (one blocking native call on ptr) so that an
      # interrupt of this thread wakes it.
      def around(ptr)
        th = Thread.current
        @lock.synchronize do
          start_watcher unless @watcher_pid == Process.pid && @watcher&.alive?
          @calls[th] = ptr
          @busy.signal
        end
        begin
          yield
        ensure
          # Under the lock, so the watcher never wakes a call that is over.
          @lock.synchronize { @calls.delete(th) }
        end
      end

      private

      def start_watcher
        @calls.clear if @watcher_pid != Process.pid # threads of the parent
        @watcher_pid = Process.pid
        @watcher = Thread.new { watch }
        @watcher.name = "mtls-interrupt" if @watcher.respond_to?(:name=)
        @watcher.report_on_exception = false
      end

      def watch
        loop do
          @lock.synchronize do
            @busy.wait(@lock) while @calls.empty?
            @calls.each do |th, ptr|
              Native.mtls_wake(ptr) if th.pending_interrupt? || !th.alive?
            end
          end
          sleep POLL
        end
      end
    end
  end
end

module MTLS
  # Runs one blocking native call on ptr: interruptible (see Interrupt),
  # and re-raising, once the call has returned, an exception that a Ruby
  # verify callback raised inside it.
  def self.blocking(ptr)
    Thread.current[:mtls_callback_error] = nil
    begin
      result = Interrupt.around(ptr) { yield }
    rescue MTLS::Error
      # The callback's exception first (the library's error is its cause).
      e = take_callback_error
      raise e if e

      raise
    end
    e = take_callback_error
    raise e if e

    result
  end

  def self.take_callback_error
    e = Thread.current[:mtls_callback_error]
    Thread.current[:mtls_callback_error] = nil
    e
  end
  private_class_method :take_callback_error
end
