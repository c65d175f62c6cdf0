# The subscriber sample of the RocketMQ STOMP gateway's page, changed only in
# the URL and keys (read from the environment) and in its loop, which reads
# COUNT messages instead of looping forever.
import base64
import hmac
import os
from hashlib import sha1
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp
QUEUE = os.environ.get('QUEUE', '/xx/xxx')
accessKey = os.environ['ACCESS_KEY']
secretKey = os.environ['SECRET_KEY']
clientId = 'recv_01'
brokerUrl = os.environ['BROKER_URL']
COUNT = int(os.environ['COUNT'])
passcode = base64.b64encode(hmac.new(secretKey.encode(), clientId.encode(), sha1).digest()).decode()
CONFIG = StompConfig(brokerUrl, accessKey, passcode, StompSpec.VERSION_1_2)
if __name__ == '__main__':
    client = Stomp(CONFIG)
    client.connect(
        {
            'client-id': clientId,
            'instance-id': 'xxxxx',
        })
    client.subscribe(QUEUE,
                     {
                         StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL,
                         StompSpec.ID_HEADER: '001',
                         StompSpec.RECEIPT_HEADER: "R001"
                     })
    frame = client.receiveFrame()
    print('recv: %s' % frame.info())
    for _ in range(COUNT):
        frame = client.receiveFrame()
        print('recv: %s' % frame.info())
        client.ack(frame)
    client.disconnect()
