# frozen_string_literal: true

module MTLS
  # How Ctrl-C, Thread#raise, Thread#kill and Timeout.timeout reach a
  # thread that waits inside libmtls.
  #
  # A blocking call releases the GVL; Ruby interrupts it by sending the
  # thread a signal (SIGVTALRM, repeated while the interrupt is pending).
  # Every Context turns on mtls_config_set_interruptible, so the signal
  # ends the wait with MTLS_ERR_INTERRUPTED, and Ruby delivers the
  # interrupt (runs the trap handler, raises the exception) as the native
  # call returns.  A signal that brings no exception, such as one caught
  # by trap("USR1") { } or a SIGCHLD, must not end the call: for the calls
  # that can be made again (read, write, handshake, accept, connect),
  # MTLS.retry_interrupted makes them again.

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
