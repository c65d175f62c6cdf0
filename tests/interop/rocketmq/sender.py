# The sender sample of the RocketMQ STOMP gateway's page, changed only in the
# URL and keys (read from the environment) and its loop count (COUNT).
import base64
import hmac
import os
import time
from hashlib import sha1
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp
QUEUE = os.environ.get('QUEUE', '/xx/xxx')
accessKey = os.environ['ACCESS_KEY']
secretKey = os.environ['SECRET_KEY']
clientId = 'send_01'
brokerUrl = os.environ['BROKER_URL']
COUNT = int(os.environ['COUNT'])
passcode = base64.b64encode(hmac.new(secretKey.encode(), clientId.encode(), sha1).digest()).decode()
CONFIG = StompConfig(brokerUrl, accessKey, passcode, StompSpec.VERSION_1_2)
if __name__ == '__main__':
    client = Stomp(CONFIG)
    client.connect(
        {
            'client-id': clientId,
            'instance-id': 'xxxxx'
        })
    for i in range(1, COUNT + 1):
        msg = 'm_' + str(i)
        print('send :' + msg)
        client.send(QUEUE, msg.encode(), {StompSpec.RECEIPT_HEADER: str(i)})
        frame = client.receiveFrame()
        print('resp: %s' % frame.info())
        time.sleep(1)
