# frozen_string_literal: true

module MTLS
  # How Ctrl-C, Thread#raise, Thread#kill and Timeout.timeout reach a
  # thread that waits inside libmtls.
  #
  # A blocking call releases the GVL; Ruby interrupts it by sending the
  # thread a signal (SIGVTALRM, repeated while the interrupt is pending).
  # Every Context lets INTERRUPT_SIGNALS end a wait
  # (mtls_config_set_interrupt_signals) with MTLS_ERR_INTERRUPTED, and
  # Ruby delivers the interrupt (runs the trap handler, raises the
  # exception) as the native call returns.  Other signals, such as the
  # SIGCHLD that Ruby catches when a child process ends, are held back
  # while the call waits and handled when it is over, so they end nothing.
  # One of the listed signals may still bring no exception
  # (trap("INT") { }): the calls that can be made again (read, write,
  # handshake, accept, connect) are then made again by
  # MTLS.retry_interrupted.

  # Ruby's thread interrupts (Thread#raise, Thread#kill, Timeout, and a
  # signal forwarded to the main thread), Ctrl-C and kill(1).
  INTERRUPT_SIGNALS = %w[VTALRM INT TERM].map { |name| Signal.list.fetch(name) }.freeze

  # Makes the native call in the block (an Integer result) again while it
  # fails only because a signal interrupted its wait.  The error code is
  # looked at only when the call itself returned -1: it stays on the
  # object after a failure.  Thread.pass before each retry, so that an
  # interrupt still pending is delivered rather than waited over.
  def self.retry_interrupted(ptr)
    loop do
      rc = yield
      return rc unless rc == -1 &&
                       Native.mtls_error_code(ptr) == CODES[:INTERRUPTED]

      Thread.pass
    end
  end

  # Runs one blocking native call on ptr, re-raising, once the call has
  # returned, an exception that a Ruby verify callback raised inside it.
  def self.blocking(_ptr)
    Thread.current[:mtls_callback_error] = nil
    begin
      result = yield
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
