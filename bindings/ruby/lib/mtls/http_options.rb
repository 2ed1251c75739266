# frozen_string_literal: true

require "openssl"

module MTLS
  # Net::HTTP's settings of MTLS::HTTP (the SSL attributes, timeouts,
  # use_ssl, ipaddr) and the MTLS::Context they make.
  class HTTP
    # Net::HTTP's SSL attributes that MTLS::HTTP takes, and how they become
    # MTLS::Context options.
    SSL_ATTRIBUTES = %i[ca_file ca_path cert cert_store ciphers extra_chain_cert key
                        ssl_timeout ssl_version min_version max_version verify_callback
                        verify_depth verify_mode verify_hostname].freeze
    # What else start's options and the setters take.
    OTHER_ATTRIBUTES = %i[use_ssl open_timeout read_timeout write_timeout
                          keep_alive_timeout continue_timeout max_retries
                          close_on_empty_response local_host local_port ipaddr
                          context verify_name].freeze
    OPTIONS = (SSL_ATTRIBUTES + OTHER_ATTRIBUTES).freeze

    # Net::HTTP's defaults, in seconds; with context: the context's own
    # apply instead (libmtls: 30 s to connect and for the handshake, no
    # limit on reads and writes) unless set here.
    DEFAULT_TIMEOUTS = { open_timeout: 60, read_timeout: 60, write_timeout: 60 }.freeze

    attr_accessor :continue_timeout, :close_on_empty_response, :ssl_timeout

    SSL_ATTRIBUTES.each do |name|
      next if name == :ssl_timeout

      attr_reader name

      define_method(:"#{name}=") do |value|
        instance_variable_set(:"@#{name}", value)
        @built_context = nil
      end
    end

    # Always true: MTLS::HTTP speaks only TLS.
    def use_ssl?
      true
    end

    # true is a no-op; false is refused, since MTLS::HTTP has no plaintext.
    def use_ssl=(flag)
      return if flag

      raise ArgumentError, "MTLS::HTTP speaks only TLS (use_ssl: #{flag.inspect}): " \
                           "for plain http:// use Net::HTTP"
    end

    # The MTLS::Context connections are made from: the one given, or one
    # made from cert, key, ca_file and the other SSL attributes; with the
    # timeouts applied.
    def context
      @built_context ||= build_context
    end

    # An MTLS::Context to use instead of the SSL attributes.
    def context=(ctx)
      @context = ctx
      @built_context = nil
    end

    # The name the server's certificate must match when it is not address
    # (or address is an IP address with no such SAN).
    def verify_name=(name)
      @verify_name = name
    end

    # Connect to this address (an IP) instead of resolving address, which
    # is still the name verified (Net::HTTP#ipaddr=).
    attr_reader :ipaddr

    def ipaddr=(addr)
      raise ConnectionError.new("ipaddr value changed, but session already started", code: CODES[:INVALID]) if started?

      @ipaddr = addr
    end

    attr_reader :local_host, :local_port

    def local_host=(host)
      refuse_local("local_host", host)
    end

    def local_port=(port)
      refuse_local("local_port", port)
    end

    # Seconds; nil for no limit.  Changed on a started session, they apply
    # from the next request, which makes a new connection (libmtls sets
    # timeouts per config).
    %i[open_timeout read_timeout write_timeout].each do |name|
      define_method(:"#{name}=") do |sec|
        next if instance_variable_get(:"@#{name}") == sec

        instance_variable_set(:"@#{name}", sec)
        @built_context = nil
        @reconnect = true if started?
      end
    end

    %i[open_timeout read_timeout write_timeout].each do |name|
      define_method(name) do
        value = instance_variable_get(:"@#{name}")
        value == :default ? default_timeout(name) : value
      end
    end

    # Seconds a kept-alive connection may stay unused before the next
    # request makes a new one (Net::HTTP's, default 2).
    attr_writer :keep_alive_timeout

    def max_retries=(retries)
      retries = retries.to_int
      raise ArgumentError, "max_retries should be non-negative integer number" if retries.negative?

      @max_retries = retries
    end

    def proxy?
      false
    end

    def proxy_address; end

    def proxy_port; end

    def proxy_user; end

    def proxy_pass; end

    private

    def set_options(options)
      options.each do |key, value|
        raise ArgumentError, "unknown MTLS::HTTP option #{key.inspect} (#{OPTIONS.join(', ')})" \
          unless OPTIONS.include?(key)

        public_send(:"#{key}=", value)
      end
    end

    def refuse_local(name, value)
      return if value.nil?

      raise ArgumentError, "MTLS::HTTP cannot bind its connections to a local address " \
                           "(#{name} = #{value.inspect})"
    end

    def default_timeout(name)
      @context ? nil : DEFAULT_TIMEOUTS.fetch(name)
    end

    # ------------------------------------------------------- the context

    def build_context
      return @context.with_timeouts(**timeout_options) if @context

      Context.new(**context_options, **context_timeouts)
    end

    # The timeouts set here, for a given context (the rest are its own);
    # nil, no limit, is 0 for libmtls.
    def timeout_options
      { open: @open_timeout, read: @read_timeout, write: @write_timeout }
        .reject { |_, t| t == :default }.transform_values { |t| t || 0 }
    end

    def context_timeouts
      open = open_timeout || 0
      { connect_timeout: open, handshake_timeout: open, io_timeout: read_timeout || 0,
        write_timeout: write_timeout || 0 }
    end

    def context_options
      refuse_unsupported_ssl_attributes
      opts = {}
      opts[:cert] = @extra_chain_cert ? [@cert, *@extra_chain_cert] : @cert if @cert
      opts[:key] = @key if @key
      opts[:ca_file] = @ca_file if @ca_file
      opts[:ca_path] = @ca_path if @ca_path
      opts[:system_ca] = true if system_ca?
      opts[:ciphers] = @ciphers if @ciphers
      opts[:min_version] = @min_version if @min_version
      opts[:max_version] = @max_version if @max_version
      opts[:verify_depth] = @verify_depth if @verify_depth
      opts[:verify_mode] = @verify_mode unless @verify_mode.nil?
      opts
    end

    # Whether the system's CAs are trusted, as Net::HTTP trusts them: when
    # no CA is given (OpenSSL::SSL::SSLContext's DEFAULT_CERT_STORE), and
    # for a cert_store, whose certificates cannot be read from an
    # OpenSSL::X509::Store: it stands for what Store#set_default_paths
    # loads, which is what Faraday and most callers put in it.
    def system_ca?
      @cert_store || !(@ca_file || @ca_path)
    end

    def refuse_unsupported_ssl_attributes
      if @verify_callback
        raise ArgumentError, "MTLS::HTTP has no OpenSSL verify_callback: use context: " \
                             "MTLS::Context.new(..., verify: ->(peer) { ... }) or allow: " \
                             "{ cn:, dns:, spki: ... }"
      end
      if @ssl_version
        raise ArgumentError, "MTLS::HTTP: ssl_version is obsolete: use min_version: " \
                             "and max_version: (:TLS1_2, :TLS1_3)"
      end
      return unless @verify_hostname == false

      raise ArgumentError, "MTLS::HTTP always checks the server's name (verify_hostname " \
                           "= false): give verify_name: with the name its certificate has"
    end
  end
end
